/**
 * CONTRACT §16 on PostgreSQL: `lectern backup` takes pg_dump's copy (exit 2 saying so when
 * pg_dump is not on PATH), `lectern restore` loads it with pg_restore into an empty database only,
 * and a server there has the same accounts, passwords and sessions. Each test database is made
 * for this file and dropped after it.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { backupCommand } from '../../src/cli/backup.ts'
import { restoreCommand } from '../../src/cli/restore.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createAgent } from '../support/agent.ts'
import { appOnDataDir } from '../support/backups.ts'
import { runCommand } from '../support/factories.ts'
import { testDatabaseUrl } from '../support/services.ts'
import { LATEST_MIGRATION } from '../../src/db/migration-status.ts'

const PASSWORD = 'a passphrase kept through a restore'
const serverUrl = testDatabaseUrl()

async function admin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

/** The full path of a program on PATH. */
const which = (program: string) => execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim()

/** A new, empty database on the test server, and its URL. */
async function createDatabase(name: string): Promise<string> {
  await admin((client) => client.query(`create database ${name}`))
  const url = new URL(serverUrl!)
  url.pathname = `/${name}`
  return url.toString()
}

if (serverUrl) {
  describe('lectern backup and restore on PostgreSQL (CONTRACT §16)', () => {
    const suffix = randomBytes(4).toString('hex')
    const names = {
      source: `lectern_backup_src_${suffix}`,
      target: `lectern_backup_dst_${suffix}`,
      late: `lectern_backup_late_${suffix}`,
    }
    let root: string
    let sourceUrl: string
    let targetUrl: string
    let archive: string
    let cookie: string
    const env = () => ({ PATH: process.env.PATH ?? '' })

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'lectern-backup-pg-'))
      archive = join(root, 'lectern.tar.gz')
      sourceUrl = await createDatabase(names.source)
      targetUrl = await createDatabase(names.target)
      const app = await appOnDataDir(join(root, 'source'), { databaseUrl: sourceUrl, clock: createManualClock() })
      try {
        const ada = createAgent(app.t)
        const res = await ada.post('/api/register', {
          json: { username: 'ada', email: 'ada@example.org', password: PASSWORD },
        })
        assert.equal(res.statusCode, 201)
        cookie = ada.sessionCookie()!
        for (const username of ['bob', 'cyd']) {
          const agent = createAgent(app.t)
          const other = await agent.post('/api/register', {
            json: { username, email: `${username}@example.org`, password: PASSWORD },
          })
          assert.equal(other.statusCode, 201, other.body)
        }
      } finally {
        await app.close()
      }
    })
    after(async () => {
      rmSync(root, { recursive: true, force: true })
      await admin(async (client) => {
        for (const name of Object.values(names)) await client.query(`drop database if exists ${name} with (force)`)
      })
    })

    test('without pg_dump on PATH: exit 2 saying so, no archive', async () => {
      const result = await runCommand(backupCommand, [join(root, 'none.tar.gz')], {
        env: { DATA_DIR: join(root, 'source'), DATABASE_URL: sourceUrl, PATH: join(root, 'empty-path') },
      })
      assert.equal(result.code, 2)
      assert.match(result.stderr, /pg_dump is not on PATH/)
    })

    test('backup → restore into an empty database and DATA_DIR: same accounts, passwords and sessions', async () => {
      const backup = await runCommand(backupCommand, [archive], {
        env: { ...env(), DATA_DIR: join(root, 'source'), DATABASE_URL: sourceUrl },
      })
      assert.equal(backup.code, 0, backup.stderr)
      assert.match(backup.stdout, new RegExp(String.raw`the postgres database \(schema ${LATEST_MIGRATION}\)`))

      const dataDir = join(root, 'restored')
      const restore = await runCommand(restoreCommand, [archive], {
        env: { ...env(), DATA_DIR: dataDir, DATABASE_URL: targetUrl },
      })
      assert.equal(restore.code, 0, restore.stderr)

      const app = await appOnDataDir(dataDir, { databaseUrl: targetUrl, clock: createManualClock() })
      try {
        const users = await app.database.db.selectFrom('users').select('username').orderBy('id').execute()
        assert.deepEqual(
          users.map((user) => user.username),
          ['ada', 'bob', 'cyd'],
        )
        const returning = createAgent(app.t)
        returning.setCookie('lectern_session', cookie)
        assert.equal((await returning.get('/api/me')).statusCode, 200)
        const login = await createAgent(app.t).post('/api/login', { json: { username: 'bob', password: PASSWORD } })
        assert.equal(login.statusCode, 200)
      } finally {
        await app.close()
      }
    })

    test('an installation on PostgreSQL that never made a DATA_DIR: the backup is the database alone', async () => {
      const file = join(root, 'database-only.tar.gz')
      const result = await runCommand(backupCommand, [file], {
        env: { ...env(), DATA_DIR: join(root, 'never-made'), DATABASE_URL: sourceUrl },
      })
      assert.equal(result.code, 0, result.stderr)
      assert.match(
        result.stdout,
        new RegExp(String.raw`the postgres database \(schema ${LATEST_MIGRATION}\) and 0 other file\(s\)`),
      )
    })

    test('a database that is not empty is refused: exit 2, DATA_DIR not created', async () => {
      const dataDir = join(root, 'second')
      const result = await runCommand(restoreCommand, [archive], {
        env: { ...env(), DATA_DIR: dataDir, DATABASE_URL: sourceUrl },
      })
      assert.equal(result.code, 2)
      assert.match(result.stderr, /the PostgreSQL database of DATABASE_URL is not empty/)
    })

    test('DATA_DIR refused after the database was loaded: exit 1 saying the database was restored, never "nothing was changed"', async () => {
      const lateUrl = await createDatabase(names.late)
      // A pg_restore that succeeds, after which something else writes into DATA_DIR.
      const tools = join(root, 'late-tools')
      mkdirSync(tools)
      writeFileSync(
        join(tools, 'pg_restore'),
        `#!/bin/sh\n${JSON.stringify(which('pg_restore'))} "$@" || exit $?\nmkdir -p "$DATA_DIR" && touch "$DATA_DIR/stray"\n`,
        { mode: 0o755 },
      )
      const dataDir = join(root, 'late')
      const result = await runCommand(restoreCommand, [archive], {
        env: { PATH: `${tools}${delimiter}${process.env.PATH ?? ''}`, DATA_DIR: dataDir, DATABASE_URL: lateUrl },
      })
      assert.equal(result.code, 1, result.stderr)
      assert.doesNotMatch(result.stderr, /nothing was changed/)
      assert.match(result.stderr, /the PostgreSQL database of DATABASE_URL was restored/)
      assert.deepEqual(readdirSync(dataDir), ['stray'], 'DATA_DIR keeps only what another wrote')
    })

    test('a PostgreSQL backup into a SQLite configuration is refused, and the other way round', async () => {
      const result = await runCommand(restoreCommand, [archive], { env: { ...env(), DATA_DIR: join(root, 'sqlite') } })
      assert.equal(result.code, 2)
      assert.match(result.stderr, /holds a postgres database, but this configuration uses sqlite/)
    })
  })
}
