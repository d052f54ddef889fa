import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import { Migrator, type MigrationResult } from 'kysely/migration'
import pg from 'pg'
import { createFileWithMode, createPrivateDir, PRIVATE_FILE_MODE } from '../lib/private-files.ts'
import { dialectOf, type DialectName } from './dialect.ts'
import { migrations } from './migrations/index.ts'
import { withPreparedStatements } from './sqlite-statements.ts'
import type { Database } from './schema.ts'

export const SQLITE_FILE_NAME = 'lectern.sqlite'
const PG_INT8_OID = 20

export interface DatabaseHandle {
  db: Kysely<Database>
  dialect: DialectName
  /** Resolves when the database answers a trivial query within the timeout; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  /** postgres://… for PostgreSQL; null for SQLite. */
  databaseUrl: string | null
  /** Folder for the SQLite file; ':memory:' for a private in-memory database (tests). */
  sqlitePath: string
  /** PostgreSQL only: a schema to work in (tests isolate themselves this way). */
  pgSchema?: string
  pgPoolSize?: number
}

export function sqlitePathFor(dataDir: string): string {
  createPrivateDir(dataDir)
  return join(dataDir, SQLITE_FILE_NAME)
}

function openSqlite(path: string): Kysely<Database> {
  // The file holds password hashes: created 0600 before SQLite opens it, whatever the umask.
  // SQLite gives its -wal and -shm files the database file's mode.
  if (path !== ':memory:') createFileWithMode(path, PRIVATE_FILE_MODE)
  const sqlite = new SQLite(path)
  if (path !== ':memory:') sqlite.pragma('journal_mode = WAL')
  // Writers wait for each other briefly instead of failing at once (CLI and server on one file).
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('synchronous = NORMAL')
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withPreparedStatements(sqlite) }) })
}

function openPostgres(url: string, schema: string | undefined, poolSize: number): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Fail fast: a database that does not answer is a 503, not a request that hangs.
    connectionTimeoutMillis: 3000,
    query_timeout: 10_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  })
  // A pool error (server restarted under an idle client) must not crash the process;
  // the next query gets a fresh connection.
  pool.on('error', () => {})
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

async function currentSchema(db: Kysely<Database>): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)
  return rows[0]?.schema ?? undefined
}

export function openDatabase(opts: OpenDatabaseOptions): DatabaseHandle {
  // Milliseconds since the epoch are bigint in PostgreSQL; they fit a JS number exactly.
  pg.types.setTypeParser(PG_INT8_OID, (value) => Number(value))
  const dialect: DialectName = opts.databaseUrl ? 'postgres' : 'sqlite'
  const db = opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.pgSchema, opts.pgPoolSize ?? 10)
    : openSqlite(opts.sqlitePath)
  return {
    db,
    dialect,
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('database ping timed out')), timeoutMs)
      })
      try {
        await Promise.race([sql`select 1`.execute(db), timeout])
      } finally {
        clearTimeout(timer)
      }
    },
    close: () => db.destroy(),
  }
}

/** Brings the schema up to date. Safe when several instances start at once (Kysely takes a lock). */
export async function migrateToLatest(
  db: Kysely<Database>,
  /** Replaced by tests: what runs the migrations (Kysely's Migrator over `migrations`). */
  migrator?: Pick<Migrator, 'migrateToLatest'>,
): Promise<MigrationResult[]> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: another
  // installation (or test) in a different schema of the same database would make it skip
  // creating ours. On PostgreSQL they live in this connection's schema (its search_path).
  const migrationTableSchema = dialectOf(db) === 'postgres' ? await currentSchema(db) : undefined
  migrator ??= new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  })
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest()
    if (!error) return results ?? []
    // Kysely's introspector scans every schema of the database and asks has_schema_privilege()
    // and pg_get_serial_sequence() by name: a schema or table dropped meanwhile by someone else
    // (another installation, a test) makes that query fail with invalid_schema_name,
    // undefined_table or undefined_column although ours is fine. Looking again succeeds.
    const droppedMeanwhile = DROPPED_MEANWHILE.has(String((error as { code?: unknown }).code))
    if (!droppedMeanwhile || attempt >= MIGRATION_ATTEMPTS)
      throw error instanceof Error ? error : new Error(String(error))
  }
}

/** invalid_schema_name, undefined_table, undefined_column: what a concurrent DROP looks like to the introspector. */
const DROPPED_MEANWHILE = new Set(['3F000', '42P01', '42703'])
const MIGRATION_ATTEMPTS = 3
