import { resolve } from 'node:path'
import { BackupError } from '../operations/backup/errors.ts'
import { restoreBackup } from '../operations/backup/restore-backup.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { configOrUsageError } from './import.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type Command } from './io.ts'

const USAGE = `Usage: lectern restore FILE

Restores a backup made by "lectern backup" into an empty (or absent) DATA_DIR, and with
DATABASE_URL into an empty PostgreSQL database (pg_restore must be on PATH). Everything is
checked before anything is written: the archive's gzip and tar, its manifest and format
version, every file's SHA-256, that it holds only files and folders under safe relative paths,
and that its schema is not newer than this Lectern's. A server started afterwards has the same
accounts, passwords, sessions, courses and progress. Restored files are 0600, folders 0700.

Exit status: 0 restored, 1 the restore failed while writing, 2 usage error, a damaged or
foreign archive, or a target that is not empty (nothing is changed).
`

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'restore a backup into an empty DATA_DIR (and an empty PostgreSQL database)',
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
      io.stderr.write(`lectern restore: ${problem}\n\n${USAGE}`)
      return EXIT_USAGE
    }
    const config = configOrUsageError(io, 'restore')
    if (!config) return EXIT_USAGE
    const archive = resolve(io.cwd ?? process.cwd(), args.positionals[0]!)
    try {
      const manifest = await restoreBackup(config, archive, { env: io.env })
      io.stdout.write(
        `Restored the backup of ${manifest.created_at} (Lectern ${manifest.lectern_version}, schema ` +
          `${manifest.schema_version}) into ${config.dataDir}${config.databaseUrl ? ' and the PostgreSQL database' : ''}.\n`,
      )
      return EXIT_OK
    } catch (error) {
      if (error instanceof BackupError) {
        io.stderr.write(`lectern restore: ${error.message}; nothing was changed\n`)
        return EXIT_USAGE
      }
      io.stderr.write(`lectern restore: the restore failed: ${(error as Error).message}\n`)
      return EXIT_PROBLEM
    }
  },
}
