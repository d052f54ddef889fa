import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts'
import { createPasswordHasher, TEST_PASSWORD_PARAMS } from '../../src/security/passwords.ts'
import { createSessionStore, defaultSessionPolicy } from '../../src/security/sessions/index.ts'
import { runLectern } from '../support/process.ts'

const PUBLIC_URL = 'https://learn.example.org'
const OLD_PASSWORD = 'the learner’s own passphrase'
const NEW_PASSWORD = 'a passphrase set by the operator'
const hasher = createPasswordHasher({ params: TEST_PASSWORD_PARAMS })

describe('lectern reset-password (CONTRACT §1, §10)', () => {
  let dataDir: string
  let env: Record<string, string>
  let database: DatabaseHandle
  let serial = 0

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lectern-reset-password-'))
    env = { DATA_DIR: dataDir, PUBLIC_URL }
    database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(dataDir) })
    await migrateToLatest(database.db)
  })
  after(async () => {
    await database.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  async function learner() {
    const username = `learner${++serial}`
    return createAccountsRepository(database.db).insert({
      username,
      email: `${username}@example.org`,
      passwordHash: await hasher.hash(OLD_PASSWORD),
      nowMs: Date.now(),
    })
  }

  const passwordHashOf = async (id: number) =>
    (await database.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow())
      .password_hash

  test('prints a one-time link under PUBLIC_URL, stored only as its hash', async () => {
    const user = await learner()
    const result = await runLectern(['reset-password', '--username', user.username], { env })
    assert.equal(result.code, 0, result.stderr)
    const match = /^https:\/\/learn\.example\.org\/reset-password\/([A-Za-z0-9_-]{43})\n$/.exec(result.stdout)
    assert.ok(match, result.stdout)
    const rows = await database.db
      .selectFrom('password_reset_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute()
    assert.equal(rows.length, 1)
    assert.equal(rows[0]!.token_hash, createHash('sha256').update(match[1]!).digest('hex'))
    assert.equal(rows[0]!.issued_by, 'cli')
    assert.equal(rows[0]!.used_at, null)
  })

  test('--password-stdin sets the password, ends the sessions, voids the links and writes the notice', async () => {
    const user = await learner()
    const sessions = createSessionStore({ db: database.db, clock: systemClock, policy: defaultSessionPolicy(3600_000) })
    await sessions.create(user.id)
    await runLectern(['reset-password', '--username', user.username], { env })
    const result = await runLectern(['reset-password', '--username', user.username, '--password-stdin'], {
      env,
      input: `${NEW_PASSWORD}\n`,
    })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /1 session\(s\) ended/)
    assert.ok(!(result.stdout + result.stderr).includes(NEW_PASSWORD))
    assert.equal((await hasher.verify(await passwordHashOf(user.id), NEW_PASSWORD)).ok, true)
    const live = await database.db.selectFrom('sessions').select('id_hash').where('user_id', '=', user.id).execute()
    assert.equal(live.length, 0)
    const open = await database.db
      .selectFrom('password_reset_tokens')
      .select('token_hash')
      .where('user_id', '=', user.id)
      .where('used_at', 'is', null)
      .execute()
    assert.equal(open.length, 0)
    const outbox = join(dataDir, 'outbox')
    const notices = readdirSync(outbox)
      .map((file) => readFileSync(join(outbox, file), 'utf8'))
      .filter((text) => text.includes(`To: ${user.email}`))
    assert.equal(notices.length, 1)
    assert.match(notices[0]!, /was changed/)
  })

  test('an unknown user, a refused password or a missing --username: exit 2, nothing changed', async () => {
    const user = await learner()
    const before = await passwordHashOf(user.id)
    const unknown = await runLectern(['reset-password', '--username', 'nobody-at-all'], { env })
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no user named "nobody-at-all"/)
    const weak = await runLectern(['reset-password', '--username', user.username, '--password-stdin'], {
      env,
      input: 'short\n',
    })
    assert.equal(weak.code, 2)
    assert.equal(await passwordHashOf(user.id), before)
    const usage = await runLectern(['reset-password'], { env })
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /--username is required/)
    const help = await runLectern(['reset-password', '--help'], { env })
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: lectern reset-password --username NAME \[--password-stdin\]/)
  })
})
