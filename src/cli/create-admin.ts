import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { systemClock } from '../lib/clock.ts'
import { HttpError } from '../http/errors.ts'
import { describeValidationIssue } from '../http/error-handler.ts'
import { createAccountsRepository } from '../modules/accounts/accounts.repository.ts'
import { registerBodySchema } from '../modules/accounts/accounts.schemas.ts'
import { createAccountsService } from '../modules/accounts/accounts.service.ts'
import { createAdminRepository } from '../modules/admin/admin.repository.ts'
import { createPasswordPolicy, loadCommonPasswords } from '../security/password-policy.ts'
import { createPasswordHasher, MAX_PASSWORD_LENGTH } from '../security/passwords.ts'
import { createSessionStore, defaultSessionPolicy } from '../security/sessions/index.ts'
import { configOrUsageError, openConfiguredDatabase } from './import.ts'
import { describeArgsProblem, parseCommandLine, type ArgsProblem } from './args.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'

// ajv-formats is CommonJS with a default export; under NodeNext its default is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

const USAGE = `Usage: lectern create-admin --username NAME --email ADDR --password-stdin

Creates an admin account, with the password read from standard input (its first line), e.g.

  printf '%s\\n' "$ADMIN_PASSWORD" | lectern create-admin --username ada --email ada@example.org --password-stdin

If a user named NAME already exists with the email ADDR, they are promoted to admin (and
enabled if disabled) and their password is left unchanged; standard input is not read. The
user's sessions end, so they sign in again with their new role.

The same rules as registration apply: username 3-32 of letters, digits, "_", "." and "-",
a valid email address, a password of 8-256 characters that is not a common one.

Exit status: 0 created or promoted, 1 the database could not be written, 2 usage or input error.
`

interface Args {
  username: string
  email: string
  passwordStdin: boolean
}

const OPTIONS = {
  username: { type: 'string' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
} as const

/** An unknown option or a stray operand is "unexpected argument", as this command has always said. */
function describeProblem(problem: ArgsProblem): string {
  if (problem.kind === 'unknown-option') return `unexpected argument "${problem.option}"`
  return describeArgsProblem(problem)
}

function argsOrProblem(argv: string[]): Args | string | 'help' {
  const args = parseCommandLine(argv, OPTIONS, { allowPositionals: false })
  if (args.help) return 'help'
  if (!args.ok) return describeProblem(args.problem)
  const { username, email } = args.values
  if (username === undefined) return '--username is required'
  if (email === undefined) return '--email is required'
  return { username, email, passwordStdin: args.values['password-stdin'] === true }
}

/** The first line of standard input, without its line break. Nothing else is read. */
export async function readPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
    // The first line is all we need; a password longer than the limit is refused below anyway.
    if (text.includes('\n') || text.length > MAX_PASSWORD_LENGTH * 4) break
  }
  const newline = text.indexOf('\n')
  return (newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, '')
}

/** The registration schema's rules for the username and email, with the API's messages. */
function identityProblem(username: string, email: string): string | null {
  const { username: usernameRule, email: emailRule } = registerBodySchema.properties
  const validate = addFormats(new Ajv({ allErrors: false })).compile({
    type: 'object',
    properties: { username: usernameRule, email: emailRule },
  })
  if (validate({ username, email })) return null
  const issue = validate.errors?.[0]
  return issue ? describeValidationIssue(issue, 'argument') : 'invalid username or email'
}

export const createAdminCommand: Command = {
  name: 'create-admin',
  summary: 'create an admin account, or promote an existing user',
  usage: USAGE,
  async run(argv, io: CliIo) {
    const args = argsOrProblem(argv)
    if (args === 'help') {
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    if (typeof args === 'string') {
      io.stderr.write(`lectern create-admin: ${args}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const problem = identityProblem(args.username, args.email)
    if (problem) {
      io.stderr.write(`lectern create-admin: ${problem}\n`)
      return EXIT_USAGE
    }
    const config = configOrUsageError(io, 'create-admin')
    if (!config) return EXIT_USAGE

    let database
    try {
      database = await openConfiguredDatabase(config)
      const { db } = database
      const admins = createAdminRepository(db)
      const existing = await admins.findByUsername(args.username)

      if (existing) {
        if (existing.email.toLowerCase() !== args.email.toLowerCase()) {
          io.stderr.write(
            `lectern create-admin: a user named "${existing.username}" exists with another email address; ` +
              'give their email address to promote them\n',
          )
          return EXIT_USAGE
        }
        if (existing.role === 'admin' && existing.disabled === 0) {
          io.stdout.write(`"${existing.username}" is already an admin; nothing changed.\n`)
          return EXIT_OK
        }
        // The operator typed the account's address: it counts as verified.
        await admins.update(existing.id, { role: 'admin', disabled: false, emailVerified: true }, systemClock.now())
        const sessions = createSessionStore({
          db,
          clock: systemClock,
          policy: defaultSessionPolicy(config.csrfTokenTtlMs),
        })
        await sessions.deleteAllForUser(existing.id)
        io.stdout.write(`Promoted "${existing.username}" (id ${existing.id}) to admin; their password is unchanged.\n`)
        return EXIT_OK
      }

      if (!args.passwordStdin) {
        io.stderr.write('lectern create-admin: --password-stdin is required to create an account\n')
        return EXIT_USAGE
      }
      const password = await readPassword(io.stdin)
      // Registered by the accounts service itself (policy, uniqueness, hashing) and promoted in
      // the same transaction: a failure leaves no half-made learner account behind.
      const user = await db.transaction().execute(async (trx) => {
        const accounts = createAccountsService({
          repository: createAccountsRepository(trx),
          passwords: createPasswordHasher(),
          policy: createPasswordPolicy({ commonPasswords: loadCommonPasswords() }),
          clock: systemClock,
        })
        const created = await accounts.register({ username: args.username, email: args.email, password })
        // The operator typed the address: it counts as verified (sign-in may wait for that).
        const admin = { role: 'admin', emailVerified: true } as const
        return (await createAdminRepository(trx).update(created.id, admin, systemClock.now()))!
      })
      io.stdout.write(`Created admin "${user.username}" (id ${user.id}).\n`)
      return EXIT_OK
    } catch (error) {
      if (error instanceof HttpError && error.statusCode < 500) {
        io.stderr.write(`lectern create-admin: ${error.publicMessage}\n`)
        return EXIT_USAGE
      }
      io.stderr.write(`lectern create-admin: the database could not be written: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    } finally {
      await database?.close()
    }
  },
}
