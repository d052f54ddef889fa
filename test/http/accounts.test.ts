import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createPasswordHasher, TEST_PASSWORD_PARAMS, type PasswordHasher } from '../../src/security/passwords.ts'
import { createAgent, type Agent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'

const USER_KEYS = [
  'avatar_url',
  'bio',
  'created_at',
  'display_name',
  'email',
  'email_verified',
  'id',
  'role',
  'two_factor_enabled',
  'username',
]
const PASSWORD = 'correct horse battery staple'
/** Every request here comes from one address: the rate limits have suites of their own. */
const GENEROUS_LIMITS = {
  RATE_LIMIT_LOGIN: '1000/15m',
  RATE_LIMIT_LOGIN_USER: '1000/15m',
  RATE_LIMIT_REGISTER: '1000/1h',
}

/** A real, cheap hasher that counts verifications: how the suite sees that both 401s cost the same work. */
function countingHasher() {
  const inner = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 4 })
  const calls = { hash: 0, verify: 0, verifyDummy: 0 }
  const hasher: PasswordHasher = {
    ...inner,
    hash: (password) => (calls.hash++, inner.hash(password)),
    verify: (stored, password) => (calls.verify++, inner.verify(stored, password)),
    verifyDummy: (password) => (calls.verifyDummy++, inner.verifyDummy(password)),
  }
  return { hasher, calls, reset: () => Object.assign(calls, { hash: 0, verify: 0, verifyDummy: 0 }) }
}

/** No response of this suite may carry a password hash, whatever its status. */
function assertNoHash(res: AgentResponse) {
  assert.ok(!/\$argon2|password_hash/i.test(res.body), `hash material in ${res.body}`)
}

function assertUser(value: unknown, expected: Record<string, unknown> = {}) {
  assert.ok(value && typeof value === 'object')
  assert.deepEqual(Object.keys(value).sort(), USER_KEYS)
  const user = value as Record<string, unknown>
  assert.equal(typeof user.id, 'number')
  assert.match(String(user.created_at), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  assert.equal(user.avatar_url, null)
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(user[key], value, key)
}

describe('accounts over HTTP (CONTRACT §5)', () => {
  let t: TestApp
  const counting = countingHasher()
  let serial = 0

  /** A fresh identity each time, so tests do not depend on one another. */
  const identity = (prefix = 'user') => {
    serial++
    return {
      username: `${prefix}${serial}`,
      email: `${prefix}${serial}@example.org`,
      password: `${PASSWORD} ${serial}`,
    }
  }

  async function registered(prefix?: string): Promise<{ agent: Agent; id: number } & ReturnType<typeof identity>> {
    const who = identity(prefix)
    const agent = createAgent(t)
    const res = await agent.post('/api/register', { json: who })
    assert.equal(res.statusCode, 201, res.body)
    return { agent, id: res.json().user.id, ...who }
  }

  const requestLines = (res: AgentResponse) =>
    t.logs().filter((line) => line.request_id === res.headers['x-request-id'])

  before(async () => {
    t = await buildTestApp({ env: GENEROUS_LIMITS, deps: { passwords: counting.hasher } })
  })
  after(() => t.close())

  describe('POST /api/register', () => {
    test('201 with USER, signed in at once, the anonymous session rotated', async () => {
      const who = identity()
      const agent = createAgent(t)
      await agent.csrfToken() // starts an anonymous session, as a browser's first page would
      const anonymous = agent.sessionCookie()
      assert.ok(anonymous)
      const res = await agent.post('/api/register', { json: who })
      assert.equal(res.statusCode, 201, res.body)
      assertNoHash(res)
      assertUser(res.json().user, {
        username: who.username,
        email: who.email,
        display_name: '',
        bio: '',
        role: 'learner',
        email_verified: false,
        created_at: new Date(t.clock.now()).toISOString(),
      })
      assert.notEqual(agent.sessionCookie(), anonymous, 'the session id rotates on sign-in')
      const me = await agent.get('/api/me')
      assert.equal(me.statusCode, 200)
      assert.deepEqual(me.json(), res.json())
      const success = requestLines(res).find((line) => line.event === 'auth_success')
      assert.equal(success?.user_id, res.json().user.id)
      assert.deepEqual(success?.extra, { username: who.username, method: 'register', signed_in: true })
    })

    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ['missing password', { username: 'valid_name', email: 'v@example.org' }, /Missing field: password/],
      ['username too short', { username: 'ab', email: 'v@example.org', password: PASSWORD }, /username/],
      ['username too long', { username: 'a'.repeat(33), email: 'v@example.org', password: PASSWORD }, /username/],
      ['username with a space', { username: 'ada lovelace', email: 'v@example.org', password: PASSWORD }, /username/],
      ['username with a slash', { username: 'ada/../x', email: 'v@example.org', password: PASSWORD }, /username/],
      ['username not a string', { username: 12345, email: 'v@example.org', password: PASSWORD }, /username/],
      ['invalid email', { username: 'valid_name', email: 'not-an-email', password: PASSWORD }, /email/],
      ['email with spaces', { username: 'valid_name', email: ' v@example.org', password: PASSWORD }, /email/],
      ['password of 7 characters', { username: 'valid_name', email: 'v@example.org', password: 'k7#mQ2v' }, /password/],
      [
        'password of 257 characters',
        { username: 'valid_name', email: 'v@example.org', password: 'k'.repeat(257) },
        /password/,
      ],
      ['a common password', { username: 'valid_name', email: 'v@example.org', password: 'Password123' }, /too common/],
      [
        'the username as password',
        { username: 'valid_name', email: 'v@example.org', password: 'VALID_NAME' },
        /username/,
      ],
      ['the email as password', { username: 'valid_name', email: 'v@example.org', password: 'v@example.org' }, /email/],
    ]
    for (const [name, body, message] of invalid) {
      test(`400: ${name}`, async () => {
        const agent = createAgent(t)
        const res = await agent.post('/api/register', { json: body })
        assert.equal(res.statusCode, 400, res.body)
        assert.match(res.json().error, message)
        assert.equal(agent.sessionCookie() === undefined || (await agent.get('/api/me')).statusCode === 401, true)
      })
    }

    test('the boundaries pass: 3- and 32-character usernames, 8- and 256-character passwords', async () => {
      for (const [username, password] of [
        ['a.b', 'k7#mQ2vx'],
        ['Z'.repeat(32), 'k7#mQ2vx'.repeat(32)],
      ]) {
        const res = await createAgent(t).post('/api/register', {
          json: { username, email: `${username}@example.org`, password },
        })
        assert.equal(res.statusCode, 201, res.body)
      }
    })

    test('409 for a username or email already taken, in any case', async () => {
      const first = await registered('taken')
      const sameName = await createAgent(t).post('/api/register', {
        json: { ...identity(), username: first.username.toUpperCase() },
      })
      assert.equal(sameName.statusCode, 409)
      assert.equal(sameName.json().error, 'Username already taken')
      const sameEmail = await createAgent(t).post('/api/register', {
        json: { ...identity(), email: first.email.toUpperCase() },
      })
      assert.equal(sameEmail.statusCode, 409)
      assert.equal(sameEmail.json().error, 'Email address already registered')
    })

    test('mass assignment: role or is_admin in the body is a 400 and no account is created', async () => {
      for (const extra of [{ role: 'admin' }, { is_admin: true }, { disabled: 0 }, { id: 1 }]) {
        const who = identity('sneaky')
        const res = await createAgent(t).post('/api/register', { json: { ...who, ...extra } })
        assert.equal(res.statusCode, 400)
        assert.equal(res.json().error, `Unknown field: ${Object.keys(extra)[0]}`)
        const login = await createAgent(t).post('/api/login', {
          json: { username: who.username, password: who.password },
        })
        assert.equal(login.statusCode, 401, 'nothing was stored')
      }
    })
  })

  describe('POST /api/login', () => {
    test('200 with USER; the username matches in any case; the session rotates', async () => {
      const user = await registered('login')
      const agent = createAgent(t)
      const anonymousToken = await agent.csrfToken()
      const before = agent.sessionCookie()
      counting.reset()
      const res = await agent.post('/api/login', {
        json: { username: user.username.toUpperCase(), password: user.password },
      })
      assert.equal(res.statusCode, 200, res.body)
      assertNoHash(res)
      assertUser(res.json().user, { id: user.id, username: user.username, email: user.email, role: 'learner' })
      assert.deepEqual(counting.calls, { hash: 0, verify: 1, verifyDummy: 0 })
      assert.notEqual(agent.sessionCookie(), before)
      // The pre-login session is gone, and so are the tokens bound to it.
      const stale = await agent.post('/api/logout', { csrf: anonymousToken })
      assert.equal(stale.statusCode, 403)
      assert.equal(stale.json().error, 'CSRF token invalid')
      const replay = createAgent(t)
      replay.setCookie('lectern_session', before!)
      assert.equal((await replay.get('/api/me')).statusCode, 401)
      // The login's own request line, and every line after it, carries the user id.
      const complete = requestLines(res).find((line) => line.event === 'request_complete')
      assert.equal(complete?.user_id, user.id)
      const me = await agent.get('/api/me')
      assert.equal(requestLines(me).find((line) => line.event === 'request_complete')?.user_id, user.id)
    })

    test('unknown username and wrong password: the same 401, the same message, the same work', async () => {
      const user = await registered('victim')
      counting.reset()
      const wrong = await createAgent(t).post('/api/login', {
        json: { username: user.username, password: 'guess guess guess' },
      })
      assert.deepEqual(counting.calls, { hash: 0, verify: 1, verifyDummy: 0 })
      counting.reset()
      const unknown = await createAgent(t).post('/api/login', {
        json: { username: 'no_such_user', password: 'guess guess guess' },
      })
      assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 1 })
      for (const res of [wrong, unknown]) {
        assert.equal(res.statusCode, 401)
        assert.equal(res.json().error, 'Invalid username or password')
        assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'request_id'])
      }
      const headerNames = (res: AgentResponse) =>
        Object.keys(res.headers)
          .filter((h) => !['x-request-id', 'date', 'content-length'].includes(h))
          .sort()
      assert.deepEqual(headerNames(wrong), headerNames(unknown))
    })

    test('auth_failure names a known account by id, an unknown name by keyed hash, and never what was typed', async () => {
      const user = await registered('logged')
      const secret = 'my secret guess 12345'
      const res = await createAgent(t).post('/api/login', { json: { username: user.username, password: secret } })
      const failure = requestLines(res).find((line) => line.event === 'auth_failure')
      assert.equal(failure?.level, 'WARNING')
      assert.deepEqual(failure?.extra, { attempted_user_id: user.id, reason: 'wrong_password' })
      // A password typed into the username field is what an unknown name often is.
      const typedInTheWrongField = 'Correct-Horse-Battery-9'
      const unknown = await createAgent(t).post('/api/login', {
        json: { username: typedInTheWrongField, password: secret },
      })
      const unknownFailure = requestLines(unknown).find((line) => line.event === 'auth_failure')
      assert.equal((unknownFailure?.extra as Record<string, unknown>).reason, 'unknown_user')
      assert.match(String((unknownFailure?.extra as Record<string, unknown>).attempted_username_key), /^[0-9a-f]{32}$/)
      // The same name, in any case, is the same hash: an operator can follow one name's attempts.
      const again = await createAgent(t).post('/api/login', {
        json: { username: typedInTheWrongField.toUpperCase(), password: secret },
      })
      assert.equal(
        (requestLines(again).find((line) => line.event === 'auth_failure')?.extra as Record<string, unknown>)
          .attempted_username_key,
        (unknownFailure?.extra as Record<string, unknown>).attempted_username_key,
      )
      const everything = JSON.stringify(t.logs())
      assert.ok(!everything.includes(typedInTheWrongField), 'what was typed as a username reached the logs')
      assert.ok(!everything.includes(secret), 'a password reached the logs')
      assert.ok(!everything.includes(user.password), 'a password reached the logs')
      assert.ok(!everything.includes('$argon2'), 'a hash reached the logs')
    })

    test('a disabled account: 401 without its password, 403 with it, and never signed in', async () => {
      const user = await registered('disabled')
      await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
      const agent = createAgent(t)
      const guess = await agent.post('/api/login', { json: { username: user.username, password: 'guess guess guess' } })
      assert.equal(guess.statusCode, 401)
      assert.equal(guess.json().error, 'Invalid username or password')
      const res = await agent.post('/api/login', { json: { username: user.username, password: user.password } })
      assert.equal(res.statusCode, 403)
      assert.equal(res.json().error, 'Account disabled')
      const failure = requestLines(res).find((line) => line.event === 'auth_failure')
      assert.deepEqual(failure?.extra, { attempted_user_id: user.id, reason: 'account_disabled' })
      assert.equal((await agent.get('/api/me')).statusCode, 401)
    })

    test('400 for a malformed body; unknown fields refused', async () => {
      const agent = createAgent(t)
      assert.equal((await agent.post('/api/login', { json: { username: 'someone' } })).statusCode, 400)
      assert.equal(
        (await agent.post('/api/login', { json: { username: 'someone', password: 12345678 } })).statusCode,
        400,
      )
      const extra = await agent.post('/api/login', {
        json: { username: 'someone', password: PASSWORD, remember: true },
      })
      assert.equal(extra.statusCode, 400)
      assert.equal(extra.json().error, 'Unknown field: remember')
    })

    test('without a CSRF token a login is refused before anything is checked', async () => {
      const user = await registered('csrf')
      counting.reset()
      const res = await createAgent(t).post('/api/login', {
        json: { username: user.username, password: user.password },
        csrf: false,
      })
      assert.equal(res.statusCode, 403)
      assert.equal(res.json().error, 'CSRF token missing')
      assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 })
    })
  })

  describe('POST /api/logout and GET /api/me', () => {
    test('GET /api/me signed out → 401', async () => {
      const res = await createAgent(t).get('/api/me')
      assert.equal(res.statusCode, 401)
      assert.equal(res.json().error, 'Authentication required')
    })

    test('logout → 204, the session is over on the server, logged with the user id', async () => {
      const user = await registered('leaver')
      const cookie = user.agent.sessionCookie()!
      const res = await user.agent.post('/api/logout')
      assert.equal(res.statusCode, 204)
      assert.equal(res.body, '')
      assert.equal((await user.agent.get('/api/me')).statusCode, 401)
      // The old cookie, replayed, is no longer a session.
      const replay = createAgent(t)
      replay.setCookie('lectern_session', cookie)
      assert.equal((await replay.get('/api/me')).statusCode, 401)
      const logout = requestLines(res).find((line) => line.event === 'logout')
      assert.equal(logout?.user_id, user.id)
      assert.equal(logout?.level, 'INFO')
    })

    test('logout while signed out is a harmless 204 and logs no logout', async () => {
      const res = await createAgent(t).post('/api/logout')
      assert.equal(res.statusCode, 204)
      assert.equal(requestLines(res).filter((line) => line.event === 'logout').length, 0)
    })
  })

  describe('PATCH /api/profile', () => {
    test('signed out → 401', async () => {
      const res = await createAgent(t).patch('/api/profile', { json: { bio: 'hello' } })
      assert.equal(res.statusCode, 401)
    })

    test('updates display_name, bio and email; text trimmed and NFC', async () => {
      const user = await registered('profile')
      const res = await user.agent.patch('/api/profile', {
        json: { display_name: '  Zoe\u0308 Q.  ', bio: 'Teaches\r\nmaths', email: `New.${user.email}` },
      })
      assert.equal(res.statusCode, 200, res.body)
      assertNoHash(res)
      assertUser(res.json().user, {
        id: user.id,
        display_name: 'Zo\u00eb Q.',
        bio: 'Teaches\nmaths',
        email: `New.${user.email}`,
        role: 'learner',
      })
      assert.deepEqual((await user.agent.get('/api/me')).json(), res.json())
      // Only the fields sent change.
      const partial = await user.agent.patch('/api/profile', { json: { bio: '' } })
      assert.equal(partial.json().user.display_name, 'Zo\u00eb Q.')
      assert.equal(partial.json().user.bio, '')
    })

    test('mass assignment: role, is_admin and friends are a 400; the role stays learner', async () => {
      const user = await registered('climber')
      for (const body of [
        { role: 'admin' },
        { is_admin: true },
        { display_name: 'Innocent', role: 'admin' },
        { disabled: 0 },
        { password_hash: 'x' },
        { username: 'renamed' },
        { id: 1 },
      ]) {
        const res = await user.agent.patch('/api/profile', { json: body })
        assert.equal(res.statusCode, 400, JSON.stringify(body))
        assert.match(res.json().error, /^Unknown field: /)
      }
      const me = await user.agent.get('/api/me')
      assert.equal(me.json().user.role, 'learner')
      assert.equal(me.json().user.display_name, '', 'a refused body changes nothing, not even its valid fields')
      const row = await t.database.db
        .selectFrom('users')
        .select(['role', 'username'])
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { role: 'learner', username: user.username })
    })

    test('400 for invalid values; 409 for an email in use', async () => {
      const user = await registered('editor')
      const other = await registered('owner')
      const cases: Array<[Record<string, unknown>, number, RegExp]> = [
        [{ email: 'nope' }, 400, /email/],
        [{ email: null }, 400, /email/],
        [{ display_name: 42 }, 400, /display_name/],
        [{ display_name: 'x'.repeat(65) }, 400, /display_name must be at most 64 characters/],
        [{ display_name: 'two\nlines' }, 400, /single line/],
        [{ bio: 'y'.repeat(501) }, 400, /bio must be at most 500 characters/],
        [{ display_name: 'admin\u202e' }, 400, /bidirectional/],
        [{ email: other.email.toUpperCase() }, 409, /Email address already registered/],
      ]
      for (const [body, status, message] of cases) {
        const res = await user.agent.patch('/api/profile', { json: body })
        assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`)
        assert.match(res.json().error, message)
      }
    })
  })

  describe('POST /api/profile/password', () => {
    test('204: the other sessions end, this one continues under a new id, the new password works', async () => {
      const user = await registered('mover')
      const laptop = user.agent
      const phone = createAgent(t)
      const tablet = createAgent(t)
      for (const device of [phone, tablet]) {
        assert.equal(
          (await device.post('/api/login', { json: { username: user.username, password: user.password } })).statusCode,
          200,
        )
      }
      const before = laptop.sessionCookie()
      const newPassword = 'an entirely new passphrase'
      const res = await laptop.post('/api/profile/password', {
        json: { current_password: user.password, new_password: newPassword },
      })
      assert.equal(res.statusCode, 204, res.body)
      assert.notEqual(laptop.sessionCookie(), before, 'the surviving session is rotated')
      assert.equal((await laptop.get('/api/me')).statusCode, 200)
      assert.equal((await phone.get('/api/me')).statusCode, 401)
      assert.equal((await tablet.get('/api/me')).statusCode, 401)
      const changed = requestLines(res).find((line) => line.event === 'password_changed')
      assert.equal(changed?.user_id, user.id)
      assert.deepEqual(changed?.extra, { signed_out_elsewhere: 2 })
      const old = await createAgent(t).post('/api/login', {
        json: { username: user.username, password: user.password },
      })
      assert.equal(old.statusCode, 401)
      const fresh = await createAgent(t).post('/api/login', {
        json: { username: user.username, password: newPassword },
      })
      assert.equal(fresh.statusCode, 200)
      assert.ok(!JSON.stringify(t.logs()).includes(newPassword))
    })

    test('wrong current password: 400 with a clear message, logged, nothing ends', async () => {
      const user = await registered('forgetful')
      const phone = createAgent(t)
      await phone.post('/api/login', { json: { username: user.username, password: user.password } })
      const res = await user.agent.post('/api/profile/password', {
        json: { current_password: 'not my password', new_password: 'an entirely new passphrase' },
      })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error, 'Current password is incorrect')
      const failure = requestLines(res).find((line) => line.event === 'auth_failure')
      assert.equal(failure?.user_id, user.id)
      assert.deepEqual(failure?.extra, { reason: 'wrong_current_password' })
      assert.equal((await phone.get('/api/me')).statusCode, 200)
      assert.equal((await user.agent.get('/api/me')).statusCode, 200)
      const login = await createAgent(t).post('/api/login', {
        json: { username: user.username, password: user.password },
      })
      assert.equal(login.statusCode, 200, 'the password did not change')
    })

    test('the new password obeys the same rules as at registration', async () => {
      const user = await registered('rulesmaker')
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ current_password: user.password, new_password: 'short' }, /new_password/],
        [{ current_password: user.password, new_password: 'q'.repeat(257) }, /new_password/],
        [{ current_password: user.password, new_password: 'iloveyou' }, /too common/],
        [{ current_password: user.password, new_password: user.username }, /username/],
        [{ current_password: user.password, new_password: user.password }, /differ/],
        [{ current_password: user.password }, /Missing field: new_password/],
        [
          { current_password: user.password, new_password: 'a fine new passphrase', role: 'admin' },
          /Unknown field: role/,
        ],
      ]
      for (const [body, message] of cases) {
        const res = await user.agent.post('/api/profile/password', { json: body })
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`)
        assert.match(res.json().error, message)
      }
    })

    test('signed out → 401', async () => {
      const res = await createAgent(t).post('/api/profile/password', {
        json: { current_password: PASSWORD, new_password: 'an entirely new passphrase' },
      })
      assert.equal(res.statusCode, 401)
    })
  })

  test('a 256-character password is used whole: the same password but its last character fails', async () => {
    const who = { ...identity('long'), password: `${'Long passphrase! '.repeat(15)}Z` }
    assert.equal([...who.password].length, 256)
    assert.equal((await createAgent(t).post('/api/register', { json: who })).statusCode, 201)
    const almost = `${who.password.slice(0, -1)}X`
    assert.equal(
      (await createAgent(t).post('/api/login', { json: { username: who.username, password: almost } })).statusCode,
      401,
    )
    assert.equal(
      (await createAgent(t).post('/api/login', { json: { username: who.username, password: who.password } }))
        .statusCode,
      200,
    )
  })

  test('no response of the whole suite carried a password hash, and the hash is never in the users view', async () => {
    const user = await registered('final')
    for (const res of [await user.agent.get('/api/me'), await user.agent.patch('/api/profile', { json: {} })]) {
      assertNoHash(res)
      assertUser(res.json().user)
    }
  })
})
