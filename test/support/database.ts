import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.ts'

export type TestDatabaseKind = 'sqlite' | 'postgres'

/**
 * A migrated, private database: SQLite in memory, or a fresh PostgreSQL schema dropped on close,
 * so tests never see each other's rows.
 */
export async function createTestDatabase(
  kind: TestDatabaseKind = 'sqlite',
  postgresUrl?: string,
): Promise<DatabaseHandle> {
  if (kind === 'sqlite') {
    const handle = openDatabase({ databaseUrl: null, sqlitePath: ':memory:' })
    await migrateToLatest(handle.db)
    return handle
  }
  if (!postgresUrl) throw new Error('a PostgreSQL test database needs TEST_DATABASE_URL')
  const schema = `test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  await admin.end()
  const handle = openDatabase({ databaseUrl: postgresUrl, sqlitePath: '', pgSchema: schema, pgPoolSize: 4 })
  await migrateToLatest(handle.db)
  return {
    ...handle,
    async close() {
      await handle.close()
      const cleanup = new pg.Client({ connectionString: postgresUrl })
      await cleanup.connect()
      await cleanup.query(`drop schema ${schema} cascade`)
      await cleanup.end()
    },
  }
}
