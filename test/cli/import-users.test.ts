import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { IMPORT_LINK_TTL_MS } from '../../src/modules/accounts/import-users.service.ts'
import { oneTimeTokenHash } from '../../src/security/one-time-token.ts'
import { runLectern } from '../support/process.ts'

const PUBLIC_URL = 'https://learn.example.org'
const LINK = /^https:\/\/learn\.example\.org\/reset-password\/([A-Za-z0-9_-]{43})$/

describe('lectern import-users (CONTRACT §1, §15)', () => {
  let dataDir: string
  let env: Record<string, string>
  let database: DatabaseHandle

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lectern-import-users-'))
    env = { DATA_DIR: dataDir, PUBLIC_URL }
    database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(dataDir) })
    await migrateToLatest(database.db)
  })
  after(async () => {
    await database.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const csvFile = (name: string, text: string) => {
    const path = join(dataDir, name)
    writeFileSync(path, text)
    return path
  }
  const usernames = async () =>
    (await database.db.selectFrom('users').select('username').orderBy('username').execute()).map((u) => u.username)
  const outbox = () => {
    try {
      return readdirSync(join(dataDir, 'outbox')).map((file) => readFileSync(join(dataDir, 'outbox', file), 'utf8'))
    } catch {
      return []
    }
  }

  test('--print-links: one CSV line per account, spreadsheet-safe; the links are stored as hashes, valid 7 days', async () => {
    const file = csvFile(
      'class.csv',
      '\ufeffusername,email,display_name,role\r\n' +
        'ada,ada@example.org,"Lovelace, Ada",instructor\r\n' +
        '\r\n' +
        'bea,=cmd@example.org,,learner\r\n',
    )
    const started = Date.now()
    const result = await runLectern(['import-users', file, '--print-links'], { env })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stderr, /Created 2 account\(s\)/)
    const lines = result.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 2)
    const [ada, bea] = lines.map((line) => line.split(','))
    assert.deepEqual(ada!.slice(0, 2), ['ada', 'ada@example.org'])
    // A cell that a spreadsheet would run as a formula is defused.
    assert.deepEqual(bea!.slice(0, 2), ['bea', "'=cmd@example.org"])
    for (const fields of [ada!, bea!]) {
      const token = LINK.exec(fields[2]!)?.[1]
      assert.ok(token, fields[2])
      const row = await database.db
        .selectFrom('password_reset_tokens')
        .select(['issued_by', 'expires_at', 'created_at'])
        .where('token_hash', '=', oneTimeTokenHash(token))
        .executeTakeFirstOrThrow()
      assert.equal(row.issued_by, 'import')
      assert.equal(row.expires_at - row.created_at, IMPORT_LINK_TTL_MS)
      assert.ok(row.created_at >= started)
    }
    const user = await database.db
      .selectFrom('users')
      .select(['role', 'display_name', 'password_hash', 'email_verified'])
      .where('username', '=', 'ada')
      .executeTakeFirstOrThrow()
    assert.equal(user.role, 'instructor')
    assert.equal(user.display_name, 'Lovelace, Ada')
    assert.ok(!user.password_hash.startsWith('$argon2'), 'no usable password')
    assert.equal(user.email_verified, 0)
    // Each was mailed its link (the outbox, as SMTP_URL is not set).
    const mails = outbox()
    assert.equal(mails.length, 2)
    assert.ok(mails.some((mail) => mail.includes('To: ada@example.org') && mail.includes('Your account on')))
  })

  test('without --print-links nothing is printed on standard output', async () => {
    const file = csvFile('quiet.csv', 'username,email\ncid,cid@example.org\n')
    const result = await runLectern(['import-users', file], { env })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, '')
    assert.ok((await usernames()).includes('cid'))
  })

  test('one bad row: exit 2, every problem with its line, nothing created', async () => {
    const before = await usernames()
    const file = csvFile(
      'bad.csv',
      [
        'username,email,role',
        'dan,dan@example.org,', // 2: fine
        'Ada,new@example.org,', // 3: taken (case-insensitively)
        'eve,DAN@example.org,', // 4: repeats line 2's address
        'fay,fay@example.org,owner', // 5: unknown role
      ].join('\n'),
    )
    const result = await runLectern(['import-users', file, '--print-links'], { env })
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /line 3: username "Ada" is already taken/)
    assert.match(result.stderr, /line 4: email "DAN@example.org" is already on line 2/)
    assert.match(result.stderr, /line 5: invalid role "owner"/)
    assert.match(result.stderr, /nothing was created/)
    assert.deepEqual(await usernames(), before)
  })

  test('usage: no file, two files, a missing file; --help', async () => {
    assert.equal((await runLectern(['import-users'], { env })).code, 2)
    assert.equal((await runLectern(['import-users', 'a.csv', 'b.csv'], { env })).code, 2)
    const missing = await runLectern(['import-users', join(dataDir, 'nope.csv')], { env })
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /cannot read .*nope\.csv: ENOENT/)
    const help = await runLectern(['import-users', '--help'], { env })
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: lectern import-users FILE\.csv \[--print-links\]/)
    assert.match((await runLectern(['--help'], { env })).stdout, /import-users/)
  })

  test('mail that cannot be sent undoes nothing: the accounts exist, exit 1 says so', async () => {
    const file = csvFile('unmailed.csv', 'username,email\ngus,gus@example.org\n')
    // Nothing listens on port 9 of the loopback: every attempt is refused at once.
    const result = await runLectern(['import-users', file, '--print-links'], {
      env: { ...env, SMTP_URL: 'smtp://127.0.0.1:9' },
    })
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /1 email\(s\) could not be sent; the accounts exist/)
    assert.match(result.stdout, /^gus,gus@example\.org,https:/)
    assert.ok((await usernames()).includes('gus'))
  })
})
