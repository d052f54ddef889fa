import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts'
import { createTwoFactorRepository } from '../../src/modules/two-factor/two-factor.repository.ts'
import { createSessionStore, defaultSessionPolicy } from '../../src/security/sessions/index.ts'
import { runLectern } from '../support/process.ts'

describe('lectern reset-2fa (CONTRACT §1, §11)', () => {
  let dataDir: string
  let env: Record<string, string>
  let database: DatabaseHandle
  let serial = 0

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lectern-reset-2fa-'))
    env = { DATA_DIR: dataDir }
    database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(dataDir) })
    await migrateToLatest(database.db)
  })
  after(async () => {
    await database.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** An account with TOTP on, recovery codes and two open sessions, written straight to the database. */
  async function accountWithTotp() {
    const username = `admin${++serial}`
    const user = await createAccountsRepository(database.db).insert({
      username,
      email: `${username}@example.org`,
      passwordHash: 'not used here',
      nowMs: Date.now(),
    })
    const twoFactor = createTwoFactorRepository(database.db)
    await twoFactor.savePendingTotp(user.id, 'v1.sealed', Date.now())
    await twoFactor.enableTotp(user.id, 1, ['hash-a', 'hash-b'], Date.now())
    const sessions = createSessionStore({
      db: database.db,
      clock: systemClock,
      policy: defaultSessionPolicy(3_600_000),
    })
    await sessions.create(user.id)
    await sessions.create(user.id)
    return user
  }

  const count = async (table: 'totp_credentials' | 'recovery_codes' | 'sessions', userId: number) =>
    (await database.db.selectFrom(table).select('user_id').where('user_id', '=', userId).execute()).length

  test("removes the account's authenticator and recovery codes and ends its sessions; others keep theirs", async () => {
    const lost = await accountWithTotp()
    const other = await accountWithTotp()
    const result = await runLectern(['reset-2fa', '--username', lost.username.toUpperCase()], { env })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /removed: totp\); 2 session\(s\) ended/)
    assert.equal(await count('totp_credentials', lost.id), 0)
    assert.equal(await count('recovery_codes', lost.id), 0)
    assert.equal(await count('sessions', lost.id), 0)
    assert.equal(await count('totp_credentials', other.id), 1)
    assert.equal(await count('recovery_codes', other.id), 2)
    assert.equal(await count('sessions', other.id), 2)
    // Again: nothing left to remove, still fine.
    const again = await runLectern(['reset-2fa', '--username', lost.username], { env })
    assert.equal(again.code, 0)
    assert.match(again.stdout, /no second factor to remove/)
  })

  /** The messages of the outbox (no SMTP_URL) addressed to `email`. */
  const mailTo = (email: string) => {
    const outbox = join(dataDir, 'outbox')
    if (!existsSync(outbox)) return []
    return readdirSync(outbox)
      .map((file) => readFileSync(join(outbox, file), 'utf8'))
      .filter((text) => text.includes(`To: ${email}`))
  }

  test('the owner is mailed that two-factor sign-in was turned off, as from the admin page; nothing when none was on', async () => {
    const lost = await accountWithTotp()
    assert.equal((await runLectern(['reset-2fa', '--username', lost.username], { env })).code, 0)
    const notices = mailTo(lost.email)
    assert.equal(notices.length, 1)
    assert.match(notices[0]!, /two-factor sign-in was turned off/i)
    assert.equal((await runLectern(['reset-2fa', '--username', lost.username], { env })).code, 0)
    assert.equal(mailTo(lost.email).length, 1)
  })

  test('an unknown user, a missing --username or a stray argument is a usage error (2); --help is 0', async () => {
    const unknown = await runLectern(['reset-2fa', '--username', 'nobody-here'], { env })
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no user named "nobody-here"/)
    assert.equal((await runLectern(['reset-2fa'], { env })).code, 2)
    assert.equal((await runLectern(['reset-2fa', '--username', 'a', 'extra'], { env })).code, 2)
    const help = await runLectern(['reset-2fa', '--help'], { env })
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: lectern reset-2fa --username NAME/)
  })
})
