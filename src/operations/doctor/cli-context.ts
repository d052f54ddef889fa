import { statfs } from 'node:fs/promises'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import type { Config } from '../../config/index.ts'
import { openDatabase, SQLITE_FILE_NAME, type DatabaseHandle } from '../../db/database.ts'
import type { Database } from '../../db/schema.ts'
import { probeRedis, probeSmtp } from './probes.ts'
import { adminsWithoutSecondFactorIn } from '../../modules/two-factor/admins-without-second-factor.ts'
import type { DoctorContext } from './types.ts'

/**
 * The SQLite file opened read-only: the doctor looks, and never creates a database, a journal
 * mode or a migration where there was none.
 */
function openSqliteReadOnly(path: string): DatabaseHandle {
  const sqlite = new SQLite(path, { readonly: true, fileMustExist: true })
  sqlite.pragma('busy_timeout = 2000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(db)
    },
    close: () => db.destroy(),
  }
}

function openForDoctor(config: Config): { database: DatabaseHandle | null; databaseError: string | null } {
  try {
    const database = config.databaseUrl
      ? openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: '', pgPoolSize: 1 })
      : openSqliteReadOnly(join(config.dataDir, SQLITE_FILE_NAME))
    return { database, databaseError: null }
  } catch (error) {
    const missing = (error as { code?: string }).code === 'SQLITE_CANTOPEN'
    const databaseError = missing
      ? `${join(config.dataDir, SQLITE_FILE_NAME)} does not exist or cannot be opened`
      : (error as Error).message
    return { database: null, databaseError }
  }
}

export interface CliDoctorOptions {
  now: () => Date
  /** Replaced by tests; the two-factor module's answer over the configured database otherwise. */
  adminsWithoutSecondFactor?: () => Promise<string[]>
}

/** What `bin/lectern doctor` checks with: the configured database, Redis and relay, this process. */
export function createCliDoctorContext(
  config: Config,
  opts: CliDoctorOptions,
): { ctx: DoctorContext; close(): Promise<void> } {
  const { database, databaseError } = openForDoctor(config)
  const { redisUrl, smtp } = config
  const ctx: DoctorContext = {
    config,
    database,
    databaseError,
    ...(redisUrl ? { pingRedis: () => probeRedis(redisUrl) } : {}),
    ...(smtp ? { verifySmtp: () => probeSmtp(smtp) } : {}),
    adminsWithoutSecondFactor:
      opts.adminsWithoutSecondFactor ?? (database ? adminsWithoutSecondFactorIn(database.db) : async () => []),
    require2faFor: config.require2faFor,
    uid: process.getuid?.() ?? null,
    now: opts.now,
    nodeVersion: process.versions.node,
    statfs: (path) => statfs(path),
  }
  return { ctx, close: async () => database?.close() }
}
