import { systemClock } from '../lib/clock.ts'
import { createAccountsRepository } from '../modules/accounts/accounts.repository.ts'
import { createSecondFactors, secondFactorSources } from '../modules/two-factor/second-factors.ts'
import { createSessionStore, defaultSessionPolicy } from '../security/sessions/index.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { configOrUsageError, openConfiguredDatabase } from './import.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'
import { createCommandMailer } from './mail.ts'

const USAGE = `Usage: lectern reset-2fa --username NAME

Removes every second factor of the account NAME (its authenticator app, its recovery codes and
its passkeys) and ends all of its sessions: for an owner who lost their phone, the last admin
included. The account's address is told (SMTP_URL, or the outbox in DATA_DIR). The owner then
signs in with the password alone and sets two-factor sign-in up again (REQUIRE_2FA_FOR sends
them to the set-up first).

Exit status: 0 done, 1 the database could not be written, 2 usage error or unknown user.
`

const OPTIONS = { username: { type: 'string' } } as const

export const reset2faCommand: Command = {
  name: 'reset-2fa',
  summary: "remove an account's second factors (TOTP, recovery codes, passkeys) and end its sessions",
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
      io.stderr.write(`lectern reset-2fa: ${problem}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const username = args.values.username!
    const config = configOrUsageError(io, 'reset-2fa')
    if (!config) return EXIT_USAGE

    // The owner's notice goes out as the server's would: SMTP_URL, or the outbox in DATA_DIR.
    const { mailer, lostEmails } = createCommandMailer(config)
    let database
    try {
      database = await openConfiguredDatabase(config)
      const { db } = database
      const accounts = createAccountsRepository(db)
      const userId = await accounts.findIdByUsername(username)
      if (userId === undefined) {
        io.stderr.write(`lectern reset-2fa: no user named "${username}"\n`)
        return EXIT_USAGE
      }
      // The same list of second factors as the server's, so a passkey goes with the authenticator.
      const removed = await createSecondFactors(secondFactorSources({ db })).removeAll(userId)
      const sessions = createSessionStore({
        db,
        clock: systemClock,
        policy: defaultSessionPolicy(config.csrfTokenTtlMs),
      })
      const signedOut = await sessions.deleteAllForUser(userId, null)
      // As from the admin page: someone who talked an operator into this does not go unnoticed.
      const owner = removed.length > 0 ? await accounts.findById(userId) : undefined
      if (owner) {
        mailer.send({
          to: owner.email,
          kind: 'two_factor_disabled',
          data: { username: owner.username, changedAt: systemClock.now() },
        })
      }
      const what = removed.length === 0 ? 'no second factor to remove' : `removed: ${removed.join(', ')}`
      io.stdout.write(`Two-factor sign-in of "${username}" reset (${what}); ${signedOut} session(s) ended.\n`)
      return EXIT_OK
    } catch (error) {
      io.stderr.write(`lectern reset-2fa: the database could not be written: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    } finally {
      await mailer.close()
      await database?.close()
      const failed = lostEmails()
      if (failed > 0) io.stderr.write(`lectern reset-2fa: ${failed} email(s) could not be sent\n`)
    }
  },
}
