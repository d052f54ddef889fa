import type { Config } from '../config/index.ts'
import { systemClock } from '../lib/clock.ts'
import { createLogger } from '../logging/logger.ts'
import { createMemorySink } from '../logging/sinks.ts'
import { createMailerFromConfig, type Mailer } from '../mail/index.ts'

/**
 * A command's mailer, sending as the server's would (SMTP_URL, or the outbox in DATA_DIR), with
 * its log kept in memory so the command can say afterwards how many messages were lost.
 */
export function createCommandMailer(config: Config): { mailer: Mailer; lostEmails(): number } {
  const mailLog = createMemorySink()
  const mailer = createMailerFromConfig({
    config,
    logger: createLogger({ level: 'info', sink: mailLog, clock: systemClock }),
    clock: systemClock,
  })
  return {
    mailer,
    // A message is lost when its last attempt failed (earlier failures are retried).
    lostEmails: () =>
      mailLog
        .records()
        .filter(
          (line) => line.event === 'email_failed' && (line.extra as { will_retry?: boolean }).will_retry === false,
        ).length,
  }
}
