/**
 * CONTRACT §16, `bin/lectern doctor`: each readiness check on both sides of what it checks, over
 * real files, a real database, a closed port and a real SMTP server; time, free space and the
 * Node.js version are handed in.
 */
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { loadConfig } from '../../src/config/index.ts'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { adminTwoFactorCheck } from '../../src/operations/doctor/checks/admin-two-factor.ts'
import { adminsCheck } from '../../src/operations/doctor/checks/admins.ts'
import { backupsCheck } from '../../src/operations/doctor/checks/backups.ts'
import { gzipSync } from 'node:zlib'
import { dataDirCheck } from '../../src/operations/doctor/checks/data-dir.ts'
import { databaseFileCheck } from '../../src/operations/doctor/checks/database-file.ts'
import { databaseCheck } from '../../src/operations/doctor/checks/database.ts'
import { diskSpaceCheck } from '../../src/operations/doctor/checks/disk-space.ts'
import { CHECKS } from '../../src/operations/doctor/checks/index.ts'
import { logFileCheck } from '../../src/operations/doctor/checks/log-file.ts'
import { metricsTokenCheck } from '../../src/operations/doctor/checks/metrics-token.ts'
import { nodeVersionCheck } from '../../src/operations/doctor/checks/node-version.ts'
import { publicUrlCheck } from '../../src/operations/doctor/checks/public-url.ts'
import { redisCheck } from '../../src/operations/doctor/checks/redis.ts'
import { sessionSecretCheck } from '../../src/operations/doctor/checks/session-secret.ts'
import { smtpCheck } from '../../src/operations/doctor/checks/smtp.ts'
import { trustProxyCheck } from '../../src/operations/doctor/checks/trust-proxy.ts'
import { probeRedis, probeSmtp } from '../../src/operations/doctor/probes.ts'
import { runDoctor } from '../../src/operations/doctor/run.ts'
import { adminsWithoutSecondFactorIn } from '../../src/modules/two-factor/admins-without-second-factor.ts'
import type { DoctorCheck, DoctorContext, Finding } from '../../src/operations/doctor/types.ts'
import { setRole } from '../support/factories.ts'
import { startTestSmtpServer } from '../support/smtp.ts'
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts'
import { LATEST_MIGRATION } from '../../src/db/migration-status.ts'

/** The start of a real archive: what the backups check looks for. */
const GZIP_BYTES = gzipSync('a backup')

const NOW = new Date('2026-03-01T12:00:00Z')
const GIB = 1024 ** 3
const MIB = 1024 ** 2

let root: string
let serial = 0
before(() => {
  root = mkdtempSync(join(tmpdir(), 'lectern-doctor-checks-'))
})
after(() => rmSync(root, { recursive: true, force: true }))

/** A fresh DATA_DIR (not created unless asked) and a context over it. */
function contextFor(env: Record<string, string> = {}, overrides: Partial<DoctorContext> = {}): DoctorContext {
  const dataDir = join(root, `data-${++serial}`)
  return {
    config: loadConfig({ DATA_DIR: dataDir, ...env }),
    database: null,
    databaseError: 'not opened in this test',
    adminsWithoutSecondFactor: async () => [],
    require2faFor: 'none',
    uid: process.getuid!(),
    now: () => NOW,
    nodeVersion: '22.12.0',
    statfs: async () => ({ bavail: 100 * GIB, bsize: 1, blocks: 200 * GIB }),
    ...overrides,
  }
}

/** The findings of one check, run the way the report runs it. */
async function findings(check: DoctorCheck, ctx: DoctorContext): Promise<Finding[]> {
  return (await runDoctor(ctx, { scope: 'cli', checks: [check] })).findings
}

async function levels(check: DoctorCheck, ctx: DoctorContext): Promise<string[]> {
  return (await findings(check, ctx)).map((finding) => finding.level)
}

/** A local port nobody listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('doctor checks (CONTRACT §16)', () => {
  test('the list: every check once, each with a name, a level and a fix; only "configuration" is CLI-only', () => {
    const names = CHECKS.map((check) => check.name)
    assert.equal(new Set(names).size, names.length)
    for (const check of CHECKS) {
      assert.match(check.name, /^[a-z0-9-]+$/)
      assert.ok(check.fix.length > 0 && ['WARN', 'FAIL'].includes(check.level), check.name)
    }
    assert.deepEqual(
      CHECKS.filter((check) => check.scope === 'cli').map((check) => check.name),
      ['configuration'],
    )
  })

  test('data-dir: 0700 and ours is OK; 0755 is FAIL with a chmod; missing is WARN', async () => {
    const ctx = contextFor()
    assert.deepEqual(await levels(dataDirCheck, ctx), ['WARN'])
    mkdirSync(ctx.config.dataDir, { mode: 0o700 })
    assert.deepEqual(await levels(dataDirCheck, ctx), ['OK'])
    chmodSync(ctx.config.dataDir, 0o755)
    const [finding] = await findings(dataDirCheck, ctx)
    assert.equal(finding!.level, 'FAIL')
    assert.match(finding!.message, /mode 0755/)
    assert.match(finding!.fix!, /chmod 0700/)
  })

  test('data-dir and database-file: owned by another user than the server is FAIL', async () => {
    const ctx = contextFor()
    mkdirSync(ctx.config.dataDir, { mode: 0o700 })
    const other = { ...ctx, uid: process.getuid!() + 1 }
    const [finding] = await findings(dataDirCheck, other)
    assert.equal(finding!.level, 'FAIL')
    assert.match(finding!.message, /belongs to user/)
  })

  test('database-file: 0600 is OK, 0644 is FAIL; journals wider than 0600 too; PostgreSQL has none', async () => {
    const ctx = contextFor()
    const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(ctx.config.dataDir) })
    await migrateToLatest(database.db)
    try {
      const file = join(ctx.config.dataDir, 'lectern.sqlite')
      assert.deepEqual(await levels(databaseFileCheck, ctx), ['OK'])
      chmodSync(file, 0o644)
      const [finding] = await findings(databaseFileCheck, ctx)
      assert.equal(finding!.level, 'FAIL')
      assert.match(finding!.message, /0644/)
      chmodSync(file, 0o600)
      chmodSync(`${file}-wal`, 0o640)
      assert.deepEqual(await levels(databaseFileCheck, ctx), ['OK', 'FAIL'])
    } finally {
      await database.close()
    }
    const pg = contextFor({ DATABASE_URL: 'postgres://lectern@127.0.0.1/lectern' })
    assert.deepEqual(await levels(databaseFileCheck, pg), ['OK'])
  })

  test('session-secret: the generated file 0600 OK, 0644 FAIL, missing WARN; SESSION_SECRET is OK without its value', async () => {
    const ctx = contextFor()
    assert.deepEqual(await levels(sessionSecretCheck, ctx), ['WARN'])
    mkdirSync(ctx.config.dataDir, { mode: 0o700 })
    const file = join(ctx.config.dataDir, 'session-secret')
    writeFileSync(file, 's'.repeat(48), { mode: 0o600 })
    assert.deepEqual(await levels(sessionSecretCheck, ctx), ['OK'])
    chmodSync(file, 0o644)
    assert.deepEqual(await levels(sessionSecretCheck, ctx), ['FAIL'])
    const secret = 'an-environment-secret-that-is-long-enough-xyz'
    const [finding] = await findings(sessionSecretCheck, contextFor({ SESSION_SECRET: secret }))
    assert.equal(finding!.level, 'OK')
    assert.doesNotMatch(JSON.stringify(finding), new RegExp(secret))
  })

  test('database: current migrations OK; one missing FAIL; one from a newer Lectern FAIL; unopened FAIL', async () => {
    const ctx = contextFor()
    const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(ctx.config.dataDir) })
    try {
      assert.deepEqual(await levels(databaseCheck, { ...ctx, database }), ['WARN'], 'nothing migrated yet')
      await migrateToLatest(database.db)
      assert.deepEqual(await levels(databaseCheck, { ...ctx, database }), ['OK'])
      const recorded = sql.table('kysely_migration')
      await sql`delete from ${recorded} where name = ${LATEST_MIGRATION}`.execute(database.db)
      const [pending] = await findings(databaseCheck, { ...ctx, database })
      assert.equal(pending!.level, 'FAIL')
      assert.ok(pending!.message.includes(LATEST_MIGRATION), pending!.message)
      const at = NOW.toISOString()
      await sql`insert into ${recorded} (name, timestamp) values (${LATEST_MIGRATION}, ${at})`.execute(database.db)
      await sql`insert into ${recorded} (name, timestamp) values (${'9999_from_the_future'}, ${at})`.execute(
        database.db,
      )
      const [newer] = await findings(databaseCheck, { ...ctx, database })
      assert.equal(newer!.level, 'FAIL')
      assert.match(newer!.message, /newer Lectern \(9999_from_the_future\)/)
    } finally {
      await database.close()
    }
    assert.deepEqual(await levels(databaseCheck, ctx), ['FAIL'])
  })

  test('redis: unset is OK (memory); a closed port is FAIL within the timeout; a Redis that answers is OK', async () => {
    assert.deepEqual(await levels(redisCheck, contextFor()), ['OK'])
    const url = `redis://127.0.0.1:${await closedPort()}`
    const started = Date.now()
    const ctx = contextFor({ REDIS_URL: url }, { pingRedis: () => probeRedis(url, 1000) })
    assert.deepEqual(await levels(redisCheck, ctx), ['FAIL'])
    assert.ok(Date.now() - started < 5000, 'a short timeout')
    const live = process.env.TEST_REDIS_URL
    if (live) {
      const answering = contextFor({ REDIS_URL: live }, { pingRedis: () => probeRedis(live, 1000) })
      assert.deepEqual(await levels(redisCheck, answering), ['OK'])
    }
  })

  test('smtp: unset is WARN (the outbox); a relay that answers EHLO is OK; a closed port FAIL, no password shown', async () => {
    const [outbox] = await findings(smtpCheck, contextFor())
    assert.equal(outbox!.level, 'WARN')
    assert.match(outbox!.message, /outbox/)

    const credentials = { user: 'relay-user', pass: 'relay-password-never-shown' }
    const smtp = await startTestSmtpServer({ credentials })
    try {
      const env = { SMTP_URL: smtp.url(credentials) }
      const answering = contextFor(env)
      const ctx = { ...answering, verifySmtp: () => probeSmtp(answering.config.smtp!, 1000) }
      const [finding] = await findings(smtpCheck, ctx)
      assert.equal(finding!.level, 'OK', finding!.message)
      assert.match(finding!.message, new RegExp(`127\\.0\\.0\\.1:${smtp.port} answers EHLO`))
      assert.doesNotMatch(JSON.stringify(finding), /relay-password-never-shown/)
    } finally {
      await smtp.stop()
    }
    const closed = contextFor({ SMTP_URL: `smtp://u:secret-pass-xyz@127.0.0.1:${await closedPort()}` })
    const ctx = { ...closed, verifySmtp: () => probeSmtp(closed.config.smtp!, 1000) }
    const [refused] = await findings(smtpCheck, ctx)
    assert.equal(refused!.level, 'FAIL')
    assert.doesNotMatch(JSON.stringify(refused), /secret-pass-xyz/)
  })

  test('public-url: unset WARN; https with COOKIE_SECURE=auto OK; http with COOKIE_SECURE=true FAIL; https with false WARN', async () => {
    assert.deepEqual(await levels(publicUrlCheck, contextFor()), ['WARN'])
    assert.deepEqual(await levels(publicUrlCheck, contextFor({ PUBLIC_URL: 'https://learn.example.org' })), ['OK'])
    assert.deepEqual(
      await levels(publicUrlCheck, contextFor({ PUBLIC_URL: 'http://learn.example.org', COOKIE_SECURE: 'true' })),
      ['FAIL'],
    )
    assert.deepEqual(
      await levels(publicUrlCheck, contextFor({ PUBLIC_URL: 'https://learn.example.org', COOKIE_SECURE: 'false' })),
      ['WARN'],
    )
  })

  test('trust-proxy: PUBLIC_URL on another host without TRUST_PROXY WARN; with it, or on the listening host, OK', async () => {
    const proxied = { PUBLIC_URL: 'https://learn.example.org' }
    assert.deepEqual(await levels(trustProxyCheck, contextFor(proxied)), ['WARN'])
    assert.deepEqual(await levels(trustProxyCheck, contextFor({ ...proxied, TRUST_PROXY: 'loopback' })), ['OK'])
    assert.deepEqual(
      await levels(trustProxyCheck, contextFor({ PUBLIC_URL: 'http://LOCALHOST:3000', HOST: 'localhost' })),
      ['OK'],
    )
    assert.deepEqual(await levels(trustProxyCheck, contextFor({ PUBLIC_URL: 'http://[::1]:3000', HOST: '::1' })), [
      'OK',
    ])
    assert.deepEqual(await levels(trustProxyCheck, contextFor()), ['OK'])
  })

  describe('admins', () => {
    let database: DatabaseHandle
    before(async () => {
      database = openDatabase({ databaseUrl: null, sqlitePath: ':memory:' })
      await migrateToLatest(database.db)
    })
    after(() => database.close())

    async function user(username: string, role: 'learner' | 'admin', disabled = false) {
      const created = await createAccountsRepository(database.db).insert({
        username,
        email: `${username}@example.org`,
        passwordHash: 'not-a-real-hash',
        nowMs: NOW.getTime(),
      })
      await setRole(database.db, created.id, role)
      if (disabled) await database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', created.id).execute()
    }

    test('no admin is FAIL with the create-admin command; a disabled admin does not count; one admin is OK', async () => {
      const ctx = contextFor({}, { database })
      await user('learner1', 'learner')
      await user('gone', 'admin', true)
      const [none] = await findings(adminsCheck, ctx)
      assert.equal(none!.level, 'FAIL')
      assert.match(none!.fix!, /bin\/lectern create-admin/)
      await user('ada', 'admin')
      assert.deepEqual(await levels(adminsCheck, ctx), ['OK'])
    })

    test('admin-two-factor: admins named by the injected function are WARN; none is OK; REQUIRE_2FA_FOR covers them', async () => {
      const without = contextFor({}, { database, adminsWithoutSecondFactor: async () => ['ada', 'grace'] })
      const [warn] = await findings(adminTwoFactorCheck, without)
      assert.equal(warn!.level, 'WARN')
      assert.match(warn!.message, /2 admin\(s\) sign in with a password alone: ada, grace/)
      assert.deepEqual(await levels(adminTwoFactorCheck, { ...without, adminsWithoutSecondFactor: async () => [] }), [
        'OK',
      ])
      assert.deepEqual(await levels(adminTwoFactorCheck, { ...without, require2faFor: 'admin' }), ['OK'])
      assert.deepEqual(await levels(adminTwoFactorCheck, { ...without, require2faFor: 'staff' }), ['OK'])
    })

    test('over the database: an active admin without TOTP or a passkey is listed', async () => {
      assert.deepEqual(await adminsWithoutSecondFactorIn(database.db)(), ['ada'])
    })
  })

  test('metrics-token: unset OK; 16 characters WARN; 32 OK; the token never shown', async () => {
    assert.deepEqual(await levels(metricsTokenCheck, contextFor()), ['OK'])
    const short = 'a'.repeat(16)
    const [finding] = await findings(metricsTokenCheck, contextFor({ METRICS_TOKEN: short }))
    assert.equal(finding!.level, 'WARN')
    assert.doesNotMatch(JSON.stringify(finding), /aaaaaaaaaaaaaaaa/)
    assert.deepEqual(await levels(metricsTokenCheck, contextFor({ METRICS_TOKEN: 'b'.repeat(31) })), ['WARN'])
    assert.deepEqual(await levels(metricsTokenCheck, contextFor({ METRICS_TOKEN: 'c'.repeat(32) })), ['OK'])
  })

  test('log-file: unset OK; a writable folder OK; a missing or read-only folder FAIL', async () => {
    assert.deepEqual(await levels(logFileCheck, contextFor()), ['OK'])
    const folder = join(root, 'logs')
    mkdirSync(folder)
    assert.deepEqual(await levels(logFileCheck, contextFor({ LOG_FILE: join(folder, 'lectern.log') })), ['OK'])
    assert.deepEqual(await levels(logFileCheck, contextFor({ LOG_FILE: join(root, 'nowhere', 'lectern.log') })), [
      'FAIL',
    ])
    if (process.getuid!() !== 0) {
      // root may write anywhere: the read-only side holds for anyone else.
      chmodSync(folder, 0o500)
      assert.deepEqual(await levels(logFileCheck, contextFor({ LOG_FILE: join(folder, 'lectern.log') })), ['FAIL'])
      chmodSync(folder, 0o700)
    }
  })

  test('disk-space: FAIL under 100 MiB, WARN under 1 GiB or under 5%, OK above both; a missing DATA_DIR looks above', async () => {
    const space = (free: number, total: number) => async () => ({ bavail: free, bsize: 1, blocks: total })
    const at = (free: number, total = 1000 * GIB) =>
      levels(diskSpaceCheck, contextFor({}, { statfs: space(free, total) }))
    assert.deepEqual(await at(100 * MIB - 1), ['FAIL'])
    assert.deepEqual(await at(100 * MIB), ['WARN'])
    assert.deepEqual(await at(GIB - 1), ['WARN'])
    assert.deepEqual(await at(50 * GIB - 1), ['WARN'], 'under 5% of 1000 GiB')
    assert.deepEqual(await at(50 * GIB), ['OK'])
    assert.deepEqual(await at(GIB, 10 * GIB), ['OK'])
    // The real file system: DATA_DIR does not exist, its parent does.
    const real = contextFor({}, { statfs: (path) => import('node:fs/promises').then((fs) => fs.statfs(path)) })
    const [finding] = await findings(diskSpaceCheck, real)
    assert.match(finding!.message, /free in DATA_DIR/)
  })

  test('node-version: 22.12 and later OK, 22.11 and 20 FAIL', async () => {
    const at = (nodeVersion: string) => levels(nodeVersionCheck, contextFor({}, { nodeVersion }))
    assert.deepEqual(await at('22.12.0'), ['OK'])
    assert.deepEqual(await at('24.1.0'), ['OK'])
    assert.deepEqual(await at('22.11.0'), ['FAIL'])
    assert.deepEqual(await at('20.18.1'), ['FAIL'])
  })

  test('backups: unset WARN; none WARN; 23 hours old OK; 25 hours old WARN', async () => {
    assert.deepEqual(await levels(backupsCheck, contextFor()), ['WARN'])
    const folder = join(root, 'backups')
    mkdirSync(folder)
    const ctx = contextFor({ BACKUP_DIR: folder })
    assert.deepEqual(await levels(backupsCheck, ctx), ['WARN'])
    const older = join(folder, 'lectern-old.tar.gz')
    writeFileSync(older, GZIP_BYTES)
    const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3600_000)
    utimesSync(older, hoursAgo(25), hoursAgo(25))
    writeFileSync(join(folder, 'notes.txt'), 'not a backup') // newer, but not an archive
    const [stale] = await findings(backupsCheck, ctx)
    assert.equal(stale!.level, 'WARN')
    assert.match(stale!.message, /25 hours old/)
    const newer = join(folder, 'lectern-new.tar.gz')
    writeFileSync(newer, GZIP_BYTES)
    utimesSync(newer, hoursAgo(23), hoursAgo(23))
    assert.deepEqual(await levels(backupsCheck, ctx), ['OK'])
  })

  test('backups: an empty file, one that is not gzip, or a dot-file being written is no backup', async () => {
    const folder = join(root, 'backups-in-name-only')
    mkdirSync(folder)
    const ctx = contextFor({ BACKUP_DIR: folder })
    writeFileSync(join(folder, 'lectern-empty.tar.gz'), '')
    writeFileSync(join(folder, 'lectern-text.tar.gz'), 'not an archive')
    writeFileSync(join(folder, '.lectern-running.tar.gz'), GZIP_BYTES)
    const [none] = await findings(backupsCheck, ctx)
    assert.equal(none!.level, 'WARN')
    assert.match(none!.message, /no backup .* \(2 file\(s\) named like backups are empty or not gzip, ignored\)/)
    writeFileSync(join(folder, 'lectern-real.tar.gz'), GZIP_BYTES)
    utimesSync(join(folder, 'lectern-real.tar.gz'), NOW, NOW)
    const [fresh] = await findings(backupsCheck, ctx)
    assert.equal(fresh!.level, 'WARN', 'a fresh backup beside broken ones still says so')
    assert.match(fresh!.message, /0 hours old \(2 file/)
  })

  test('a check that throws is a FAIL of that check, not a crash of the report', async () => {
    const broken: DoctorCheck = {
      name: 'broken',
      level: 'WARN',
      fix: 'none',
      scope: 'any',
      run: async () => {
        throw new Error('boom')
      },
    }
    assert.deepEqual(await findings(broken, contextFor()), [
      { check: 'broken', level: 'FAIL', message: 'the check failed: boom', fix: 'none' },
    ])
  })

  test('a library quoting DATABASE_URL with its ?password= (read by node-postgres and libpq) shows it redacted', async () => {
    const secret = 'pg-query-password-never-shown'
    const url = `postgres://lectern@db.internal/lectern?sslmode=require&password=${secret}`
    const quoting: DoctorCheck = {
      name: 'quoting',
      level: 'FAIL',
      fix: 'none',
      scope: 'any',
      run: async () => {
        throw new Error(`could not connect to ${url}`)
      },
    }
    const [finding] = await findings(quoting, contextFor({ DATABASE_URL: url }))
    assert.doesNotMatch(JSON.stringify(finding), new RegExp(secret))
    assert.match(finding!.message, /password=\[redacted\]/)
  })
})
