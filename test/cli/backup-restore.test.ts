/**
 * CONTRACT §16, `bin/lectern backup FILE` and `bin/lectern restore FILE` on SQLite: a consistent
 * snapshot taken while the server registers accounts, restored into an empty DATA_DIR where the
 * same people sign in with the same passwords and sessions; a damaged, foreign or hostile archive
 * and a non-empty target are refused (exit 2) with nothing changed.
 */
import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { sql } from 'kysely'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { backupCommand } from '../../src/cli/backup.ts'
import { restoreCommand } from '../../src/cli/restore.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { readArchive } from '../../src/operations/backup/read-archive.ts'
import { createAgent } from '../support/agent.ts'
import { appOnDataDir, handMadeArchive, repack, tarEntry } from '../support/backups.ts'
import { runCommand } from '../support/factories.ts'
import { LATEST_MIGRATION } from '../../src/db/migration-status.ts'

const PASSWORD = 'a passphrase kept through a restore'
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8)

describe('lectern backup and restore on SQLite (CONTRACT §16)', () => {
  let root: string
  let source: string
  let archive: string
  let cookie: string
  let registeredBefore: string[]
  let registeredAfter: string[]
  let sourceUsers: Map<string, Record<string, unknown>>
  let serial = 0
  const fresh = (name: string) => join(root, `${name}-${++serial}`)
  const backup = (file: string, env: Record<string, string> = { DATA_DIR: source }) =>
    runCommand(backupCommand, [file], { env })
  const restore = (file: string, dataDir: string) => runCommand(restoreCommand, [file], { env: { DATA_DIR: dataDir } })

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lectern-backup-'))
    source = join(root, 'source')
    archive = join(root, 'lectern.tar.gz')
    const clock = createManualClock()
    const app = await appOnDataDir(source, { clock })
    try {
      const ada = createAgent(app.t)
      assert.equal(
        (await ada.post('/api/register', { json: { username: 'ada', email: 'ada@example.org', password: PASSWORD } }))
          .statusCode,
        201,
      )
      cookie = ada.sessionCookie()!
      // Something else DATA_DIR keeps, beside the database and the secret.
      mkdirSync(join(source, 'outbox'), { recursive: true, mode: 0o700 })
      writeFileSync(join(source, 'outbox', 'welcome.eml'), 'Subject: hello\n\nA message.\n', { mode: 0o600 })
      // A link out of DATA_DIR: never followed, never copied.
      writeFileSync(join(root, 'outside.txt'), 'not Lectern’s')
      symlinkSync(join(root, 'outside.txt'), join(source, 'outside-link'))

      // The crowd: accounts registered one after another while the backup runs.
      const registered: string[] = []
      // Registering goes on until three more accounts exist after the backup ends.
      let stopAt = Infinity
      const crowd = (async () => {
        const agent = createAgent(app.t)
        for (let i = 0; i < stopAt; i++) {
          const username = `crowd${i}`
          const res = await agent.post('/api/register', {
            json: { username, email: `${username}@example.org`, password: PASSWORD },
          })
          assert.equal(res.statusCode, 201, res.body)
          registered.push(username)
          agent.clearCookies()
        }
      })()
      while (registered.length < 3) await new Promise((resolve) => setImmediate(resolve))
      registeredBefore = [...registered]
      const result = await backup(archive)
      stopAt = registered.length + 3
      assert.equal(result.code, 0, result.stderr)
      assert.match(
        result.stdout,
        new RegExp(String.raw`^Wrote .*lectern\.tar\.gz: the sqlite database \(schema ${LATEST_MIGRATION}\)`),
      )
      assert.match(result.stderr, /left out outside-link/)
      await crowd
      registeredAfter = [...registered]
      const rows = await app.database.db.selectFrom('users').selectAll().execute()
      sourceUsers = new Map(rows.map((row) => [row.username, row as Record<string, unknown>]))
    } finally {
      await app.close()
    }
  })
  after(() => rmSync(root, { recursive: true, force: true }))

  test('the archive: mode 0600; manifest.json first with format, versions, database kind, sizes and checksums', async () => {
    assert.equal(modeOf(archive), '600')
    const staging = mkdtempSync(join(root, 'inspect-'))
    const contents = await readArchive(archive, staging)
    const manifest = JSON.parse(readFileSync(join(staging, 'manifest.json'), 'utf8')) as Record<string, unknown>
    assert.equal(manifest.format, 'lectern-backup')
    assert.equal(manifest.format_version, 1)
    assert.equal(manifest.schema_version, LATEST_MIGRATION)
    assert.equal(manifest.database, 'sqlite')
    assert.match(String(manifest.created_at), /^\d{4}-\d\d-\d\dT/)
    const files = manifest.files as Array<{ path: string; size: number; sha256: string }>
    const paths = files.map((file) => file.path)
    for (const path of ['data/outbox/welcome.eml', 'data/session-secret', 'database/lectern.sqlite']) {
      assert.ok(paths.includes(path), path)
    }
    // The rest are the verification emails of the crowd, whole: none still being written.
    for (const path of paths.filter((p) => p.startsWith('data/outbox/') && !p.endsWith('welcome.eml'))) {
      assert.match(path, /^data\/outbox\/\d{8}T\d{9}Z-[0-9a-f]+\.eml$/)
    }
    for (const file of files) assert.deepEqual(contents.files.get(file.path), { size: file.size, sha256: file.sha256 })
    assert.ok(![...contents.files.keys()].some((path) => /-wal$|-shm$|outside/.test(path)))
  })

  test('restored into a new DATA_DIR: 0700/0600, every account wholly there or wholly absent, in order', async () => {
    const target = fresh('restored')
    const result = await restore(archive, target)
    assert.equal(result.code, 0, result.stderr)
    assert.match(
      result.stdout,
      new RegExp(String.raw`^Restored the backup of .* \(Lectern .*, schema ${LATEST_MIGRATION}\) into `),
    )
    assert.equal(modeOf(target), '700')
    assert.equal(modeOf(join(target, 'outbox')), '700')
    for (const name of ['lectern.sqlite', 'session-secret', 'outbox/welcome.eml'])
      assert.equal(modeOf(join(target, name)), '600')
    assert.deepEqual(readdirSync(target).sort(), ['lectern.sqlite', 'outbox', 'session-secret'])
    assert.ok(readdirSync(join(target, 'outbox')).includes('welcome.eml'))

    const app = await appOnDataDir(target)
    try {
      const rows = await app.database.db.selectFrom('users').selectAll().orderBy('id').execute()
      const names = rows.map((row) => row.username)
      const crowd = names.filter((name) => name.startsWith('crowd'))
      // A snapshot of one moment: the accounts registered before it, in order, and none after a gap.
      assert.deepEqual(crowd, registeredAfter.slice(0, crowd.length))
      assert.ok(crowd.length >= registeredBefore.length, `${crowd.length} ≥ ${registeredBefore.length}`)
      assert.ok(crowd.length < registeredAfter.length, 'accounts registered after the backup are not in it')
      for (const row of rows) assert.deepEqual(row, sourceUsers.get(row.username), `${row.username} as it was`)
      // Nothing in the copy points at an account that is not in it (sessions, tokens, audit rows…).
      const { rows: dangling } = await sql`pragma foreign_key_check`.execute(app.database.db)
      assert.deepEqual(dangling, [])
      const { rows: integrity } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(
        app.database.db,
      )
      assert.deepEqual(integrity, [{ integrity_check: 'ok' }])
    } finally {
      await app.close()
    }
  })

  test('a server on the restored DATA_DIR keeps the sessions (the cookie from before) and the passwords', async () => {
    const target = fresh('signed-in')
    assert.equal((await restore(archive, target)).code, 0)
    const app = await appOnDataDir(target, { clock: createManualClock() })
    try {
      const returning = createAgent(app.t)
      returning.setCookie('lectern_session', cookie)
      const me = await returning.get('/api/me')
      assert.equal(me.statusCode, 200, me.body)
      assert.equal((me.json() as { user: { username: string } }).user.username, 'ada')
      const login = await createAgent(app.t).post('/api/login', { json: { username: 'ada', password: PASSWORD } })
      assert.equal(login.statusCode, 200, login.body)
      const wrong = await createAgent(app.t).post('/api/login', {
        json: { username: 'ada', password: 'not it at all' },
      })
      assert.equal(wrong.statusCode, 401)
    } finally {
      await app.close()
    }
  })

  test('an existing empty DATA_DIR is restored into, and made 0700', async () => {
    const target = fresh('empty-existing')
    mkdirSync(target, { mode: 0o755 })
    chmodSync(target, 0o755)
    const result = await restore(archive, target)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(modeOf(target), '700')
    assert.deepEqual(readdirSync(target).sort(), ['lectern.sqlite', 'outbox', 'session-secret'])
  })

  test('a DATA_DIR that is not empty is refused: exit 2, its file untouched, nothing added', async () => {
    const target = fresh('occupied')
    mkdirSync(target)
    writeFileSync(join(target, 'keep.txt'), 'mine')
    const result = await restore(archive, target)
    assert.equal(result.code, 2)
    assert.match(
      result.stderr,
      /DATA_DIR .* is not empty: restore only into an empty \(or new\) DATA_DIR; nothing was changed/,
    )
    assert.deepEqual(readdirSync(target), ['keep.txt'])
    assert.equal(readFileSync(join(target, 'keep.txt'), 'utf8'), 'mine')
  })

  /** Refused with exit 2 and `message`; the target DATA_DIR never appears, nor a folder beside it. */
  async function refused(file: string, message: RegExp) {
    const parent = fresh('refusals')
    mkdirSync(parent)
    const target = join(parent, 'data')
    const result = await restore(file, target)
    assert.equal(result.code, 2, result.stdout)
    assert.match(result.stderr, message)
    assert.match(result.stderr, /nothing was changed\n$/)
    assert.equal(existsSync(target), false)
    assert.deepEqual(readdirSync(parent), [])
  }

  test('a truncated archive is refused', async () => {
    const bytes = readFileSync(archive)
    const file = join(root, 'truncated.tar.gz')
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)))
    await refused(file, /the archive is damaged or not a \.tar\.gz/)
  })

  test('a flipped byte in the compressed stream is refused (gzip integrity)', async () => {
    const bytes = Buffer.from(readFileSync(archive))
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff
    const file = join(root, 'flipped.tar.gz')
    writeFileSync(file, bytes)
    await refused(file, /the archive is damaged/)
  })

  test('a file changed inside a well-formed archive is refused by its checksum', async () => {
    const folder = mkdtempSync(join(root, 'repack-'))
    await readArchive(archive, folder)
    const secret = join(folder, 'data', 'session-secret')
    const text = readFileSync(secret, 'utf8')
    writeFileSync(secret, `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`)
    const file = join(root, 'tampered.tar.gz')
    await repack(folder, file)
    await refused(file, /data\/session-secret does not match its checksum/)
  })

  test('a file the manifest does not list, or a listed one missing, is refused', async () => {
    const extra = mkdtempSync(join(root, 'extra-'))
    await readArchive(archive, extra)
    writeFileSync(join(extra, 'data', 'planted'), 'x')
    await repack(extra, join(root, 'extra.tar.gz'))
    await refused(join(root, 'extra.tar.gz'), /holds data\/planted, which its manifest does not list/)
    const missing = mkdtempSync(join(root, 'missing-'))
    await readArchive(archive, missing)
    rmSync(join(missing, 'data', 'outbox', 'welcome.eml'))
    await repack(missing, join(root, 'missing.tar.gz'))
    await refused(join(root, 'missing.tar.gz'), /incomplete: data\/outbox\/welcome\.eml is missing/)
  })

  test('a foreign .tar.gz (no manifest), and a manifest of another format version, are refused', async () => {
    const foreign = join(root, 'foreign.tar.gz')
    writeFileSync(foreign, handMadeArchive([tarEntry('data/notes.txt', 'hello')]))
    await refused(foreign, /not a Lectern backup: it has no manifest\.json/)
    const folder = mkdtempSync(join(root, 'version-'))
    await readArchive(archive, folder)
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ ...manifest, format_version: 2 }))
    await repack(folder, join(root, 'version.tar.gz'))
    await refused(join(root, 'version.tar.gz'), /format version 2 is not one this Lectern reads/)
  })

  test('a schema newer than this Lectern is refused', async () => {
    const folder = mkdtempSync(join(root, 'newer-'))
    await readArchive(archive, folder)
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Record<string, unknown>
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ ...manifest, schema_version: '9999_future' }))
    await repack(folder, join(root, 'newer.tar.gz'))
    await refused(
      join(root, 'newer.tar.gz'),
      new RegExp(String.raw`schema 9999_future is newer than this Lectern's \(${LATEST_MIGRATION}\)`),
    )
  })

  test('an entry with "..", an absolute path, a symbolic or hard link is refused before anything is written', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['dotdot', tarEntry('data/../../escaped', 'x'), /a path with "\.\."/],
      ['absolute', tarEntry('/tmp/escaped', 'x'), /an absolute path/],
      ['symlink', tarEntry('data/link', '', { type: '2', linkname: '/etc/passwd' }), /a SymbolicLink/],
      ['hardlink', tarEntry('data/hard', '', { type: '1', linkname: 'manifest.json' }), /a Link/],
    ]
    for (const [name, entry, message] of cases) {
      const file = join(root, `${name}.tar.gz`)
      writeFileSync(file, handMadeArchive([tarEntry('manifest.json', '{}'), entry]))
      await refused(file, message)
    }
    assert.equal(existsSync(join(root, 'escaped')), false)
  })

  test('nothing is staged in the system temporary folder (often tmpfs, i.e. memory): both work with TMPDIR pointing nowhere', async () => {
    const saved = process.env.TMPDIR
    process.env.TMPDIR = join(root, 'no-such-temporary-folder')
    try {
      const file = join(root, 'without-tmp.tar.gz')
      const made = await backup(file)
      assert.equal(made.code, 0, made.stderr)
      const target = fresh('without-tmp')
      const restored = await restore(file, target)
      assert.equal(restored.code, 0, restored.stderr)
      assert.deepEqual(readdirSync(target).sort(), ['lectern.sqlite', 'outbox', 'session-secret'])
      assert.equal(statSync(join(target, 'outbox', 'welcome.eml')).mode & 0o777, 0o600)
      assert.equal(statSync(join(target, 'outbox')).mode & 0o777, 0o700)
      assert.deepEqual(
        readdirSync(root).filter((name) => name.startsWith('.')),
        [],
        'no staging left beside the archive',
      )
    } finally {
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
    }
  })

  test('backup usage: no FILE or two are exit 2; a missing folder is exit 2; no database yet is exit 2', async () => {
    assert.equal((await runCommand(backupCommand, [], { env: { DATA_DIR: source } })).code, 2)
    assert.equal((await runCommand(backupCommand, ['a', 'b'], { env: { DATA_DIR: source } })).code, 2)
    const nowhere = await backup(join(root, 'no-such-folder', 'x.tar.gz'))
    assert.equal(nowhere.code, 2)
    assert.match(nowhere.stderr, /the folder .*no-such-folder does not exist/)
    const empty = await backup(join(root, 'empty.tar.gz'), { DATA_DIR: fresh('never-started') })
    assert.equal(empty.code, 2)
    assert.match(empty.stderr, /there is no database to back up/)
    assert.equal(existsSync(join(root, 'empty.tar.gz')), false)
    assert.equal((await runCommand(restoreCommand, [], { env: { DATA_DIR: source } })).code, 2)
    assert.equal((await restore(join(root, 'no-such.tar.gz'), fresh('x'))).code, 2)
  })
})
