import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createAdminCommand } from '../../src/cli/create-admin.ts'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts'
import { createPasswordHasher, TEST_PASSWORD_PARAMS } from '../../src/security/passwords.ts'
import { createSessionStore, defaultSessionPolicy } from '../../src/security/sessions/index.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp } from '../support/app.ts'
import { databaseKinds, runCommand } from '../support/factories.ts'
import { runLectern } from '../support/process.ts'
import { createSchema, urlWithSchema } from '../scale/scale-support.ts'

const PASSWORD = 'the admin passphrase of this test'
const hasher = createPasswordHasher({ params: TEST_PASSWORD_PARAMS })

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`lectern create-admin on ${kind} (CONTRACT §1)`, () => {
    let dataDir: string
    let env: Record<string, string>
    let dropSchema: (() => Promise<void>) | undefined
    let database: DatabaseHandle
    let serial = 0
    const name = (prefix: string) => `${prefix}${++serial}`

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'lectern-create-admin-'))
      env = { DATA_DIR: dataDir }
      if (kind === 'postgres') {
        const { schema, drop } = await createSchema(postgresUrl!)
        env.DATABASE_URL = urlWithSchema(postgresUrl!, schema)
        dropSchema = drop
      }
      database = openDatabase({ databaseUrl: env.DATABASE_URL ?? null, sqlitePath: sqlitePathFor(dataDir) })
      await migrateToLatest(database.db)
    })
    after(async () => {
      await database.close()
      await dropSchema?.()
      rmSync(dataDir, { recursive: true, force: true })
    })

    const createAdmin = (argv: string[], stdin?: string) =>
      runCommand(createAdminCommand, argv, { env, ...(stdin === undefined ? {} : { stdin }) })
    const userNamed = (username: string) =>
      database.db
        .selectFrom('users')
        .select(['id', 'role', 'disabled', 'password_hash', 'email', 'email_verified'])
        .where('username_lower', '=', username.toLowerCase())
        .executeTakeFirst()

    /** A learner registered the usual way (as the accounts module stores them). */
    async function learner(username: string, disabled = false) {
      const user = await createAccountsRepository(database.db).insert({
        username,
        email: `${username}@example.org`,
        passwordHash: await hasher.hash('the learner’s own passphrase'),
        nowMs: Date.UTC(2026, 0, 1),
      })
      if (disabled) await database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
      return user
    }

    test('creates an admin with the password from standard input (its first line)', async () => {
      const username = name('root')
      const result = await createAdmin(
        ['--username', username, '--email', `${username}@example.org`, '--password-stdin'],
        `${PASSWORD}\r\nignored second line\n`,
      )
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, new RegExp(`^Created admin "${username}" \\(id \\d+\\)\\.\\n$`))
      const user = await userNamed(username)
      assert.equal(user?.role, 'admin')
      assert.equal(user?.disabled, 0)
      assert.equal((await hasher.verify(user!.password_hash, PASSWORD)).ok, true, 'the line break is not part of it')
      assert.doesNotMatch(result.stdout + result.stderr, new RegExp(PASSWORD))
    })

    test('the new admin signs in through the API, even where sign-in waits for a verified address', async () => {
      const username = name('signin')
      await createAdmin(['--username', username, `--email=${username}@example.org`, '--password-stdin'], PASSWORD)
      const t = await buildTestApp({
        env: { REQUIRE_EMAIL_VERIFICATION: 'true' },
        deps: { database: { ...database, close: async () => {} } },
      })
      try {
        const agent = createAgent(t)
        const login = await agent.post('/api/login', { json: { username, password: PASSWORD } })
        assert.equal(login.statusCode, 200, login.body)
        assert.equal(login.json().user.role, 'admin')
        assert.equal(login.json().user.email_verified, true, 'the operator typed the address')
        assert.equal((await agent.get('/api/admin/users')).statusCode, 200)
      } finally {
        await t.close()
      }
    })

    test('promotes an existing user (email matched without case), enables them, keeps their password, ends their sessions', async () => {
      const username = name('Existing')
      const user = await learner(username, true)
      const sessions = createSessionStore({
        db: database.db,
        clock: createManualClock(Date.now()),
        policy: defaultSessionPolicy(3_600_000),
      })
      await sessions.create(user.id)
      const before = await userNamed(username)

      const result = await createAdmin(['--username', username.toLowerCase(), '--email', user.email.toUpperCase()])
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, /^Promoted ".*" \(id \d+\) to admin; their password is unchanged\.\n$/)
      const after = await userNamed(username)
      assert.equal(after?.role, 'admin')
      assert.equal(after?.disabled, 0)
      assert.equal(before?.email_verified, 0)
      assert.equal(after?.email_verified, 1, 'the operator gave the address: it counts as verified')
      assert.equal(after?.password_hash, before?.password_hash)
      const left = await database.db.selectFrom('sessions').select('id_hash').where('user_id', '=', user.id).execute()
      assert.deepEqual(left, [])

      const again = await createAdmin(['--username', username, '--email', user.email])
      assert.equal(again.code, 0)
      assert.match(again.stdout, /is already an admin; nothing changed/)
    })

    test('refuses to promote a user whose email differs (exit 2, nothing changes)', async () => {
      const username = name('other')
      await learner(username)
      const result = await createAdmin(
        ['--username', username, '--email', 'someone-else@example.org', '--password-stdin'],
        PASSWORD,
      )
      assert.equal(result.code, 2)
      assert.match(result.stderr, /exists with another email address/)
      assert.equal((await userNamed(username))?.role, 'learner')
    })

    test('the rules of registration apply: exit 2 with the API’s message, no account made', async () => {
      const taken = name('owner')
      await learner(taken)
      for (const [argv, stdin, message] of [
        [
          ['--username', 'ab', '--email', 'ab@example.org', '--password-stdin'],
          PASSWORD,
          /username must NOT have fewer than 3 characters/,
        ],
        [
          ['--username', 'has space', '--email', 'x@example.org', '--password-stdin'],
          PASSWORD,
          /username must match pattern/,
        ],
        [
          ['--username', name('mail'), '--email', 'not-an-email', '--password-stdin'],
          PASSWORD,
          /email must match format "email"/,
        ],
        [
          ['--username', name('short'), '--email', 'short@example.org', '--password-stdin'],
          'short',
          /Password must be at least 8 characters/,
        ],
        [
          ['--username', name('common'), '--email', 'common@example.org', '--password-stdin'],
          'password123',
          /Password is too common/,
        ],
        [
          ['--username', name('dupe'), '--email', `${taken}@example.org`, '--password-stdin'],
          PASSWORD,
          /Email address already registered/,
        ],
      ] as const) {
        const result = await createAdmin([...argv], stdin)
        assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`)
        assert.match(result.stderr, message)
        assert.equal(await userNamed(argv[1]), undefined, 'no account made')
      }
    })

    test('a new account needs --password-stdin', async () => {
      const username = name('nopass')
      const result = await createAdmin(['--username', username, '--email', `${username}@example.org`])
      assert.equal(result.code, 2)
      assert.match(result.stderr, /--password-stdin is required to create an account/)
      assert.equal(await userNamed(username), undefined)
    })
  })
}

describe('lectern create-admin: usage', () => {
  const env = { DATA_DIR: join(tmpdir(), 'lectern-create-admin-unused') }
  for (const [argv, message] of [
    [['--email', 'a@example.org', '--password-stdin'], /--username is required/],
    [['--username', 'ada', '--password-stdin'], /--email is required/],
    [['--username'], /--username needs a value/],
    [['--username', 'ada', '--email', 'a@example.org', '--role', 'admin'], /unexpected argument "--role"/],
  ] as const) {
    test(`${argv.join(' ')}: exit 2`, async () => {
      const result = await runCommand(createAdminCommand, [...argv], { env })
      assert.equal(result.code, 2)
      assert.match(result.stderr, message)
    })
  }

  test('--help explains the command (exit 0)', async () => {
    const result = await runCommand(createAdminCommand, ['--help'], { env })
    assert.equal(result.code, 0)
    assert.match(result.stdout, /Usage: lectern create-admin --username NAME --email ADDR --password-stdin/)
  })

  test('as a process: bin/lectern create-admin reads the password from a pipe', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-create-admin-process-'))
    try {
      const result = await runLectern(
        ['create-admin', '--username', 'ops', '--email', 'ops@example.org', '--password-stdin'],
        { env: { DATA_DIR: dataDir }, input: `${PASSWORD}\n` },
      )
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, /^Created admin "ops"/)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
