import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { systemClock } from '../lib/clock.ts'
import { siteFrom } from '../mail/index.ts'
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from '../modules/accounts/import-users.csv.ts'
import { createImportUsersService } from '../modules/accounts/import-users.service.ts'
import { csvCell } from '../modules/audit/audit-csv.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { configOrUsageError, openConfiguredDatabase } from './import.ts'
import { createCommandMailer } from './mail.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'

const USAGE = `Usage: lectern import-users FILE.csv [--print-links]

Creates the accounts listed in a CSV file (UTF-8, comma-separated, a header row first):

  username,email,display_name,role
  ada,ada@example.org,Ada Lovelace,learner
  grace,grace@example.org,"Hopper, Grace",instructor

username and email are required; display_name and role (learner or instructor; empty means
learner) are optional. Every row is checked first, against the registration rules, the other
rows and the accounts already registered: one problem, and nothing is created (each problem
names its line). At most ${MAX_IMPORT_ROWS} rows and ${MAX_IMPORT_BYTES / 1024} KiB per file.

The new accounts have no password: each is emailed a link (under PUBLIC_URL) to choose one,
valid 7 days; setting the password through it also confirms the address. With --print-links,
the links are also printed as CSV lines username,email,link, for you to hand over yourself.

Exit status: 0 created, 1 created but some emails could not be sent (or the database could not
be written), 2 usage error or a problem in the file (nothing created).
`

const OPTIONS = { 'print-links': { type: 'boolean' } } as const

export const importUsersCommand: Command = {
  name: 'import-users',
  summary: 'create the accounts of a CSV file, each emailed a link to set its password',
  usage: USAGE,
  async run(argv, io: CliIo) {
    const args = parseCommandLine(argv, OPTIONS)
    if (args.help) {
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    const problem = !args.ok
      ? describeArgsProblem(args.problem)
      : args.positionals.length !== 1
        ? 'give exactly one CSV file'
        : null
    if (problem !== null || !args.ok) {
      io.stderr.write(`lectern import-users: ${problem}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const file = resolve(io.cwd ?? '.', args.positionals[0]!)
    let bytes: Buffer
    try {
      // The size is judged before the file is read: a wrong path to a huge file costs nothing.
      if ((await stat(file)).size > MAX_IMPORT_BYTES) {
        io.stderr.write(`lectern import-users: ${file}: larger than ${MAX_IMPORT_BYTES} bytes; nothing created\n`)
        return EXIT_USAGE
      }
      bytes = await readFile(file)
    } catch (error) {
      io.stderr.write(
        `lectern import-users: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`,
      )
      return EXIT_USAGE
    }
    const config = configOrUsageError(io, 'import-users')
    if (!config) return EXIT_USAGE

    const { mailer, lostEmails } = createCommandMailer(config)
    let database
    let created = 0
    try {
      database = await openConfiguredDatabase(config)
      const imports = createImportUsersService({
        db: database.db,
        mailer,
        site: siteFrom(config.publicUrl),
        clock: systemClock,
      })
      const outcome = await imports.importCsv(bytes)
      if (!outcome.ok) {
        for (const line of outcome.problems) io.stderr.write(`lectern import-users: ${line}\n`)
        io.stderr.write('lectern import-users: nothing was created\n')
        return EXIT_USAGE
      }
      created = outcome.created.length
      if (args.values['print-links'] === true) {
        for (const account of outcome.created) {
          io.stdout.write(`${[account.username, account.email, account.url].map(csvCell).join(',')}\n`)
        }
      }
      const until = new Date(outcome.created[0]!.expiresAt).toISOString()
      io.stderr.write(
        `Created ${created} account(s); each is emailed a link to set its password, valid until ${until}.\n`,
      )
    } catch (error) {
      io.stderr.write(`lectern import-users: the database could not be written: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    } finally {
      // Waits (bounded) for the queued emails, so the command ends once they are sent or given up.
      await mailer.close()
      await database?.close()
    }
    const failed = lostEmails()
    if (created > 0 && failed > 0) {
      io.stderr.write(
        `lectern import-users: ${failed} email(s) could not be sent; the accounts exist: hand over their links ` +
          '(--print-links, or lectern reset-password --username NAME)\n',
      )
      return EXIT_PROBLEM
    }
    return EXIT_OK
  },
}
