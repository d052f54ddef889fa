import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import pg from 'pg'
import { migrateToLatest, openDatabase, sqlitePathFor } from '../../src/db/database.ts'
import { migrations } from '../../src/db/migrations/index.ts'
import { withPreparedStatements } from '../../src/db/sqlite-statements.ts'
import { createTestDatabase } from '../support/database.ts'
import { testDatabaseUrl } from '../support/services.ts'

const postgresUrl = testDatabaseUrl()
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const

for (const kind of kinds) {
  describe(`database on ${kind}`, () => {
    test('migrations bring an empty database to the latest schema, and rerunning is a no-op', async () => {
      const database = await createTestDatabase(kind, postgresUrl)
      try {
        const again = await migrateToLatest(database.db)
        assert.deepEqual(again, [])
        const now = Date.UTC(2026, 0, 1)
        const inserted = await database.db
          .insertInto('users')
          .values({
            username: 'Ada',
            username_lower: 'ada',
            email: 'ada@example.org',
            email_lower: 'ada@example.org',
            password_hash: 'x',
            display_name: 'Ada',
            bio: '',
            role: 'learner',
            disabled: 0,
            created_at: now,
            updated_at: now,
          })
          .returning(['id', 'created_at'])
          .executeTakeFirstOrThrow()
        assert.equal(typeof inserted.id, 'number')
        // Millisecond timestamps come back as numbers on both databases (bigint on PostgreSQL).
        assert.equal(inserted.created_at, now)
      } finally {
        await database.close()
      }
    })

    test('case-insensitive uniqueness is enforced by the database', async () => {
      const database = await createTestDatabase(kind, postgresUrl)
      const row = (username: string) => ({
        username,
        username_lower: username.toLowerCase(),
        email: `${username}@example.org`,
        email_lower: `${username.toLowerCase()}-${Math.random()}@example.org`,
        password_hash: 'x',
        display_name: '',
        bio: '',
        role: 'learner' as const,
        disabled: 0,
        created_at: 0,
        updated_at: 0,
      })
      try {
        await database.db.insertInto('users').values(row('Grace')).execute()
        await assert.rejects(database.db.insertInto('users').values(row('GRACE')).execute())
      } finally {
        await database.close()
      }
    })

    test('ping answers while the database is up', async () => {
      const database = await createTestDatabase(kind, postgresUrl)
      try {
        await database.ping()
      } finally {
        await database.close()
      }
      await assert.rejects(database.ping(500))
    })
  })
}

describe('migrations while another installation drops its tables', () => {
  /** A migrator whose first runs fail as Kysely's introspector does when a schema or table goes meanwhile. */
  function failingFirst(codes: string[]) {
    let runs = 0
    return {
      runs: () => runs,
      async migrateToLatest() {
        const code = codes[runs++]
        if (code === undefined) return { results: [] }
        return { error: Object.assign(new Error(`introspection failed (${code})`), { code }), results: [] }
      },
    }
  }

  test('a schema, table or column dropped under the introspector is looked at again, up to three runs', async () => {
    const database = openDatabase({ databaseUrl: null, sqlitePath: ':memory:' })
    try {
      // 42703: "column course_id of relation lessons does not exist", seen while a test dropped its schema.
      const twice = failingFirst(['42P01', '42703'])
      assert.deepEqual(await migrateToLatest(database.db, twice), [])
      assert.equal(twice.runs(), 3)
      const always = failingFirst(['3F000', '42P01', '42703'])
      await assert.rejects(migrateToLatest(database.db, always), /42703/)
      assert.equal(always.runs(), 3)
      // Any other failure is a real one: no second run.
      const broken = failingFirst(['23505'])
      await assert.rejects(migrateToLatest(database.db, broken), /23505/)
      assert.equal(broken.runs(), 1)
    } finally {
      await database.close()
    }
  })
})

describe('SQLite file database', () => {
  test('lives in DATA_DIR and uses write-ahead logging', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-db-'))
    const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(join(dir, 'data')) })
    try {
      await migrateToLatest(database.db)
      const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(database.db)
      assert.equal(rows[0]?.journal_mode, 'wal')
      assert.equal(database.dialect, 'sqlite')
    } finally {
      await database.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('PostgreSQL migrations under concurrency', { skip: postgresUrl ? false : 'TEST_DATABASE_URL not set' }, () => {
  test('two instances migrating the same empty schema at once both succeed, each migration applied once', async () => {
    const url = postgresUrl!
    const schema = `test_concurrent_${process.pid}_${Date.now()}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    const a = openDatabase({ databaseUrl: url, sqlitePath: '', pgSchema: schema, pgPoolSize: 2 })
    const b = openDatabase({ databaseUrl: url, sqlitePath: '', pgSchema: schema, pgPoolSize: 2 })
    try {
      const [first, second] = await Promise.all([migrateToLatest(a.db), migrateToLatest(b.db)])
      const applied = [...first, ...second].filter((r) => r.status === 'Success').map((r) => r.migrationName)
      assert.deepEqual(applied.sort(), Object.keys(migrations).sort())
      const { rows } = await admin.query(`select count(*)::int as n from ${schema}.kysely_migration`)
      assert.equal(rows[0].n, Object.keys(migrations).length)
    } finally {
      await a.close()
      await b.close()
      await admin.query(`drop schema ${schema} cascade`)
      await admin.end()
    }
  })

  test('another schema holding Kysely’s tables (another installation, another test) is not mistaken for ours', async () => {
    const url = postgresUrl!
    const decoy = `test_decoy_${process.pid}_${Date.now()}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`create schema ${decoy}`)
    const other = openDatabase({ databaseUrl: url, sqlitePath: '', pgSchema: decoy, pgPoolSize: 1 })
    try {
      await migrateToLatest(other.db)
      // A fresh schema beside it migrates fully, with its own bookkeeping tables.
      const fresh = await createTestDatabase('postgres', url)
      try {
        assert.deepEqual(await migrateToLatest(fresh.db), [])
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(fresh.db)
        assert.equal(rows[0]?.n, Object.keys(migrations).length)
      } finally {
        await fresh.close()
      }
    } finally {
      await other.close()
      await admin.query(`drop schema ${decoy} cascade`)
      await admin.end()
    }
  })
})

describe('SQLite prepared statements (withPreparedStatements)', () => {
  function counting() {
    const sqlite = new SQLite(':memory:')
    let prepared = 0
    const prepare = sqlite.prepare.bind(sqlite)
    sqlite.prepare = ((source: string) => {
      prepared++
      return prepare(source)
    }) as typeof sqlite.prepare
    return { sqlite, prepared: () => prepared }
  }

  test('a query run again reuses its statement; results stay right', async () => {
    const { sqlite, prepared } = counting()
    const db = new Kysely<{ t: { n: number } }>({
      dialect: new SqliteDialect({ database: withPreparedStatements(sqlite) }),
    })
    try {
      await sql`create table t (n integer)`.execute(db)
      for (let n = 1; n <= 3; n++) await db.insertInto('t').values({ n }).execute()
      const before = prepared()
      const sums = []
      for (let i = 0; i < 5; i++) sums.push((await db.selectFrom('t').select('n').where('n', '>', 1).execute()).length)
      assert.deepEqual(sums, [2, 2, 2, 2, 2])
      assert.equal(prepared() - before, 1, 'five runs of one query, one preparation')
      // A schema change under a kept statement: SQLite re-prepares it by itself.
      await sql`alter table t add column m integer default 7`.execute(db)
      const row = await db.selectFrom('t').selectAll().where('n', '=', 3).executeTakeFirstOrThrow()
      assert.deepEqual(row, { n: 3, m: 7 })
    } finally {
      await db.destroy()
    }
  })

  test('a statement still iterating is not handed out again; the cache stays bounded', () => {
    const { sqlite, prepared } = counting()
    const database = withPreparedStatements(sqlite, 2)
    try {
      database.prepare('create table t (n integer)').run([])
      database.prepare('insert into t values (1), (2)').run([])
      const iterating = database.prepare('select n from t')
      const iterator = iterating.iterate([])
      iterator.next()
      const other = database.prepare('select n from t')
      assert.notEqual(other, iterating)
      assert.deepEqual(other.all([]), [{ n: 1 }, { n: 2 }])
      iterator.return?.()
      assert.equal(database.prepare('select n from t'), iterating, 'free again once its iteration ends')
      // Bound of 2: three more distinct strings push the first ones out, so they are prepared anew.
      const before = prepared()
      for (const source of ['select 1', 'select 2', 'select 3', 'select n from t']) database.prepare(source)
      assert.equal(prepared() - before, 4)
    } finally {
      database.close()
    }
  })
})

describe('migration 0007: avatars stored before names were recorded', () => {
  test('the current name of every existing avatar is recorded, so its URL redirects after the next upload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-db-'))
    const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(dir) })
    try {
      const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => migrations } })
      assert.equal((await migrator.migrateTo('0005_avatars')).error, undefined)
      const user = await database.db
        .insertInto('users')
        .values({
          username: 'ada',
          username_lower: 'ada',
          email: 'ada@example.org',
          email_lower: 'ada@example.org',
          password_hash: 'x',
          display_name: '',
          bio: '',
          role: 'learner',
          disabled: 0,
          created_at: 1,
          updated_at: 1,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await database.db
        .insertInto('avatars')
        .values({
          user_id: user.id,
          content_type: 'image/png',
          data: Buffer.from('png'),
          sha256: 'a'.repeat(64),
          file_name: 'aaaaaaaaaaaaaaaa.png',
          width: 1,
          height: 1,
          updated_at: 42,
        })
        .execute()
      await migrateToLatest(database.db)
      assert.deepEqual(await database.db.selectFrom('avatar_file_names').selectAll().execute(), [
        { user_id: user.id, file_name: 'aaaaaaaaaaaaaaaa.png', stored_at: 42 },
      ])
    } finally {
      await database.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
