import { migrationStatus } from '../../../db/migration-status.ts'
import { ok, problem, type DoctorCheck } from '../types.ts'

const PING_TIMEOUT_MS = 2000

/** The database answers, and its schema is the one this Lectern expects. */
export const databaseCheck: DoctorCheck = {
  name: 'database',
  level: 'FAIL',
  fix: 'check DATABASE_URL (or DATA_DIR) and that the database server is running',
  scope: 'any',
  async run({ database, databaseError }) {
    if (database === null) return problem(`the database cannot be opened: ${databaseError ?? 'unknown error'}`)
    try {
      await database.ping(PING_TIMEOUT_MS)
    } catch (error) {
      return problem(`the database does not answer: ${(error as Error).message}`)
    }
    const status = await migrationStatus(database.db)
    if (status.unknown.length > 0) {
      return problem(`the database was migrated by a newer Lectern (${status.unknown.join(', ')})`, {
        fix: 'run the Lectern version that migrated it, or restore a backup taken with this one',
      })
    }
    if (status.pending.length > 0) {
      return problem(`${status.pending.length} migration(s) not applied yet: ${status.pending.join(', ')}`, {
        level: status.applied.length === 0 ? 'WARN' : 'FAIL',
        fix: 'start the server (bin/lectern serve applies them), after a backup (bin/lectern backup FILE)',
      })
    }
    return ok(`${database.dialect} answers; its ${status.applied.length} migrations are current`)
  },
}
