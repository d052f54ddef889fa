import { join } from 'node:path'
import { SQLITE_FILE_NAME } from '../../../db/database.ts'
import { PRIVATE_FILE_MODE } from '../../../lib/private-files.ts'
import { privacyOf } from '../file-privacy.ts'
import { ok, problem, type DoctorCheck, type Outcome } from '../types.ts'

/** The SQLite file and its journals hold password and session hashes: 0600, the server's own. */
export const databaseFileCheck: DoctorCheck = {
  name: 'database-file',
  level: 'FAIL',
  fix: 'chmod 0600 the database file and chown it to the user Lectern runs as',
  scope: 'any',
  async run({ config, uid }) {
    if (config.databaseUrl) return ok('PostgreSQL (DATABASE_URL): no database file in DATA_DIR')
    const path = join(config.dataDir, SQLITE_FILE_NAME)
    const outcomes: Outcome[] = [
      await privacyOf(path, {
        what: 'the database file',
        maxMode: PRIVATE_FILE_MODE,
        uid,
        kind: 'file',
        missing: problem(`the database file ${path} does not exist yet`, {
          level: 'WARN',
          fix: 'start the server once (it creates the database), or restore a backup',
        }),
      }),
    ]
    // The journals hold recent writes just the same; they exist only while a server has it open.
    for (const suffix of ['-wal', '-shm']) {
      const journal = await privacyOf(`${path}${suffix}`, {
        what: 'the database journal',
        maxMode: PRIVATE_FILE_MODE,
        uid,
        kind: 'file',
        missing: ok(''),
      })
      if (!journal.ok) outcomes.push(journal)
    }
    return outcomes
  },
}
