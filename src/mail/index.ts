import { join } from 'node:path'
import type { Config } from '../config/index.ts'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logging/logger.ts'
import { createMailer, type Mailer, type MailTimers } from './mailer.ts'
import { siteFrom } from './templates.ts'
import { createOutboxTransport, createSmtpTransport } from './transports.ts'

export { createMailer, MAIL_DEFAULTS, type Mailer, type MailMessage, type MailTimers } from './mailer.ts'
export type { MailKind, Site, TemplateData } from './templates.ts'
export { invitationUrl, passwordResetUrl, siteFrom } from './templates.ts'

export const OUTBOX_FOLDER_NAME = 'outbox'

/** The mailer of the configuration: SMTP_URL's relay, or the outbox in DATA_DIR without one. */
export function createMailerFromConfig(deps: {
  config: Pick<Config, 'smtp' | 'mailFrom' | 'publicUrl' | 'dataDir'>
  logger: Logger
  clock: Clock
  timers?: MailTimers
}): Mailer {
  const { config } = deps
  const transport = config.smtp
    ? createSmtpTransport(config.smtp, config.mailFrom)
    : createOutboxTransport(join(config.dataDir, OUTBOX_FOLDER_NAME), config.mailFrom)
  return createMailer({
    transport,
    site: siteFrom(config.publicUrl),
    logger: deps.logger,
    clock: deps.clock,
    ...(deps.timers ? { timers: deps.timers } : {}),
  })
}
