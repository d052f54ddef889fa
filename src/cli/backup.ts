import { resolve } from 'node:path'
import { createBackup } from '../operations/backup/create-backup.ts'
import { BackupError } from '../operations/backup/errors.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { configOrUsageError } from './import.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type Command } from './io.ts'

const USAGE = `Usage: lectern backup FILE

Writes one .tar.gz archive (mode 0600) of everything Lectern keeps, while the server runs:
a consistent snapshot of the database (SQLite's online backup; on PostgreSQL, pg_dump, which
must be on PATH) and DATA_DIR's other files (the session secret, the outbox…), each listed with
its size and SHA-256 in manifest.json. Log files, symbolic links and backups kept in DATA_DIR
are left out. FILE appears whole or not at all. Restore it with "lectern restore FILE".

  lectern backup "$BACKUP_DIR/lectern-$(date +%F).tar.gz"

Exit status: 0 written, 1 the database or DATA_DIR could not be read, 2 usage error (or no pg_dump).
`

export const backupCommand: Command = {
  name: 'backup',
  summary: 'write a consistent backup of the database and DATA_DIR',
  usage: USAGE,
  async run(argv, io) {
    const args = parseCommandLine(argv, {})
    if (args.help) {
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    const problem = !args.ok
      ? describeArgsProblem(args.problem)
      : args.positionals.length !== 1
        ? 'one FILE is required'
        : null
    if (problem !== null || !args.ok) {
      io.stderr.write(`lectern backup: ${problem}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const config = configOrUsageError(io, 'backup')
    if (!config) return EXIT_USAGE
    const target = resolve(io.cwd ?? process.cwd(), args.positionals[0]!)
    try {
      const { manifest, skipped } = await createBackup(config, target, { env: io.env, now: io.now })
      for (const path of skipped) io.stderr.write(`lectern backup: left out ${path} (not a regular file or folder)\n`)
      io.stdout.write(
        `Wrote ${target}: the ${manifest.database} database (schema ${manifest.schema_version}) and ` +
          `${manifest.files.length - 1} other file(s).\n`,
      )
      return EXIT_OK
    } catch (error) {
      if (error instanceof BackupError) {
        io.stderr.write(`lectern backup: ${error.message}\n`)
        return EXIT_USAGE
      }
      io.stderr.write(`lectern backup: the backup failed: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    }
  },
}
