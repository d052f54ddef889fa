import { HttpError } from '../http/errors.ts'
import { systemClock } from '../lib/clock.ts'
import { siteFrom } from '../mail/index.ts'
import { createAccountsRepository } from '../modules/accounts/accounts.repository.ts'
import { createAccountsService } from '../modules/accounts/accounts.service.ts'
import { createPasswordResetService } from '../modules/accounts/password-reset.service.ts'
import { createPasswordPolicy, loadCommonPasswords } from '../security/password-policy.ts'
import { createPasswordHasher } from '../security/passwords.ts'
import { createSessionStore, defaultSessionPolicy } from '../security/sessions/index.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { readPassword } from './create-admin.ts'
import { configOrUsageError, openConfiguredDatabase } from './import.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'
import { createCommandMailer } from './mail.ts'

const USAGE = `Usage: lectern reset-password --username NAME [--password-stdin]

Prints a one-time link (under PUBLIC_URL) with which the account NAME chooses a new password;
it works once, for PASSWORD_RESET_TTL. Hand it over yourself: it is not emailed.

With --password-stdin, sets the password read from standard input (its first line) instead,
under the same rules as registration (8-256 characters, not a common one). Every session of
the account ends, every reset link still out stops working, and the account is emailed a notice.

  printf '%s\\n' "$NEW_PASSWORD" | lectern reset-password --username ada --password-stdin

Exit status: 0 done, 1 the database could not be written, 2 usage error, unknown user or a
password the rules refuse.
`

const OPTIONS = {
  username: { type: 'string' },
  'password-stdin': { type: 'boolean' },
} as const

export const resetPasswordCommand: Command = {
  name: 'reset-password',
  summary: 'print a one-time password-reset link for an account, or set its password',
  usage: USAGE,
  async run(argv, io: CliIo) {
    const args = parseCommandLine(argv, OPTIONS, { allowPositionals: false })
    if (args.help) {
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    const problem = !args.ok
      ? describeArgsProblem(args.problem)
      : args.values.username === undefined
        ? '--username is required'
        : null
    if (problem !== null || !args.ok) {
      io.stderr.write(`lectern reset-password: ${problem}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const username = args.values.username!
    const config = configOrUsageError(io, 'reset-password')
    if (!config) return EXIT_USAGE

    // Mail (the notice) goes out as the server's would: SMTP_URL, or the outbox in DATA_DIR.
    const { mailer, lostEmails } = createCommandMailer(config)
    let database
    try {
      database = await openConfiguredDatabase(config)
      const { db } = database
      const accounts = createAccountsService({
        repository: createAccountsRepository(db),
        passwords: createPasswordHasher(),
        policy: createPasswordPolicy({ commonPasswords: loadCommonPasswords() }),
        clock: systemClock,
      })
      const sessions = createSessionStore({
        db,
        clock: systemClock,
        policy: defaultSessionPolicy(config.csrfTokenTtlMs),
      })
      const resets = createPasswordResetService({
        db,
        accounts,
        endSessions: (userId) => sessions.deleteAllForUser(userId, null),
        mailer,
        site: siteFrom(config.publicUrl),
        clock: systemClock,
        ttlMs: config.passwordResetTtlMs,
      })
      const userId = await accounts.findUserId(username)
      if (userId === undefined) {
        io.stderr.write(`lectern reset-password: no user named "${username}"\n`)
        return EXIT_USAGE
      }
      if (args.values['password-stdin'] === true) {
        const done = await resets.setPassword(userId, await readPassword(io.stdin))
        if (!done) {
          io.stderr.write(`lectern reset-password: no user named "${username}"\n`)
          return EXIT_USAGE
        }
        io.stdout.write(`Password of "${username}" set; ${done.signedOut} session(s) ended.\n`)
        return EXIT_OK
      }
      const link = await resets.issueLink(userId, 'cli', { email: false })
      io.stdout.write(`${link!.url}\n`)
      io.stderr.write(`One-time link for "${username}", valid until ${new Date(link!.expiresAt).toISOString()}.\n`)
      return EXIT_OK
    } catch (error) {
      if (error instanceof HttpError && error.statusCode < 500) {
        io.stderr.write(`lectern reset-password: ${error.publicMessage}\n`)
        return EXIT_USAGE
      }
      io.stderr.write(`lectern reset-password: the database could not be written: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    } finally {
      await mailer.close()
      await database?.close()
      const failed = lostEmails()
      if (failed > 0) io.stderr.write(`lectern reset-password: ${failed} email(s) could not be sent\n`)
    }
  },
}
