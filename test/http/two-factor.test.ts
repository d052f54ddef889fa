import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { randomBytes } from 'node:crypto'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'
import { withApp, type TestApp } from '../support/app.ts'
import { testRedisUrl } from '../support/services.ts'
import { createAgent } from '../support/agent.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { codeNow, passwordStep, STEP_MS, totpUser } from '../support/two-factor.ts'

const BASE32 = /^[A-Z2-7]+=*$/

describe('POST /api/2fa/totp/setup and /enable', () => {
  test('set-up gives a base32 secret and its otpauth link; nothing is on until a code confirms it', () =>
    withApp({}, async (t) => {
      const user = await signedIn(t)
      const res = await user.agent.post('/api/2fa/totp/setup')
      assert.equal(res.statusCode, 200)
      const { secret, otpauth_url: url } = res.json() as { secret: string; otpauth_url: string }
      assert.match(secret, BASE32)
      assert.ok(secret.length >= 32, 'at least 160 bits')
      const parsed = new URL(url)
      assert.equal(parsed.protocol, 'otpauth:')
      assert.equal(parsed.host, 'totp')
      assert.equal(decodeURIComponent(parsed.pathname), `/Lectern:${user.username}`)
      assert.equal(parsed.searchParams.get('secret'), secret)
      assert.equal(parsed.searchParams.get('issuer'), 'Lectern')
      const me = await user.agent.get('/api/me')
      assert.equal((me.json() as { user: { two_factor_enabled: boolean } }).user.two_factor_enabled, false)
      // Not on yet: the password alone still signs in.
      const other = createAgent(t)
      const login = await other.post('/api/login', { json: { username: user.username, password: user.password } })
      assert.ok('user' in (login.json() as object))
    }))

  test('the issuer is the host of PUBLIC_URL when it names one', () =>
    withApp({ env: { PUBLIC_URL: 'https://learn.example.org' } }, async (t) => {
      const user = await signedIn(t)
      const { otpauth_url: url } = (await user.agent.post('/api/2fa/totp/setup')).json() as { otpauth_url: string }
      assert.equal(new URL(url).searchParams.get('issuer'), 'learn.example.org')
    }))

  test('a wrong code is 400 "Invalid code"; a right one turns it on with 10 distinct recovery codes', () =>
    withApp({}, async (t) => {
      const user = await signedIn(t)
      const { secret } = (await user.agent.post('/api/2fa/totp/setup')).json() as { secret: string }
      const right = await codeNow(t, secret)
      const wrong = right === '000000' ? '000001' : '000000'
      const refused = await user.agent.post('/api/2fa/totp/enable', { json: { code: wrong } })
      assert.equal(refused.statusCode, 400)
      assert.equal((refused.json() as { error: string }).error, 'Invalid code')
      const res = await user.agent.post('/api/2fa/totp/enable', { json: { code: right } })
      assert.equal(res.statusCode, 200)
      const codes = (res.json() as { recovery_codes: string[] }).recovery_codes
      assert.equal(codes.length, 10)
      assert.equal(new Set(codes).size, 10)
      for (const code of codes) assert.match(code, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/)
      const me = await user.agent.get('/api/me')
      assert.equal((me.json() as { user: { two_factor_enabled: boolean } }).user.two_factor_enabled, true)
      assert.equal(t.events('two_factor_enabled').length, 1)
      assert.equal(t.events('two_factor_failure').length, 1)
    }))

  test('set-up again once it is on: 409; enable without set-up: 400; unknown fields: 400; signed out: 401', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      assert.equal((await user.agent.post('/api/2fa/totp/setup')).statusCode, 409)
      const fresh = await signedIn(t)
      const res = await fresh.agent.post('/api/2fa/totp/enable', { json: { code: '123456' } })
      assert.equal(res.statusCode, 400)
      const extra = await fresh.agent.post('/api/2fa/totp/enable', { json: { code: '123456', user_id: 1 } })
      assert.equal(extra.statusCode, 400)
      const anonymous = createAgent(t)
      assert.equal((await anonymous.post('/api/2fa/totp/setup')).statusCode, 401)
      assert.equal((await anonymous.post('/api/2fa/totp/enable', { json: { nope: 1 } })).statusCode, 401)
    }))
})

describe('sign-in in two steps', () => {
  test('the right password answers two_factor_required and signs nothing in; the code signs in on a rotated session', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const successesBefore = t.events('auth_success').length
      const agent = await passwordStep(t, user)
      assert.equal((await agent.get('/api/me')).statusCode, 401)
      assert.equal(t.events('auth_success').length, successesBefore, 'the password step is no auth_success')
      const before = agent.sessionCookie()
      const res = await agent.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json() as { user: { username: string; two_factor_enabled: boolean } }
      assert.equal(body.user.username, user.username)
      assert.equal(body.user.two_factor_enabled, true)
      assert.notEqual(agent.sessionCookie(), before, 'the session is rotated')
      assert.equal((await agent.get('/api/me')).statusCode, 200)
      const success = t.events('auth_success').at(-1)!
      assert.equal((success.extra as { method: string }).method, 'totp')
    }))

  test('one step of drift either way is accepted; two steps are refused', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      for (const [offset, status] of [
        [-2, 401],
        [2, 401],
        [-1, 200],
        [1, 200],
      ] as const) {
        const agent = await passwordStep(t, user)
        const res = await agent.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret, offset) } })
        assert.equal(res.statusCode, status, `offset ${offset}`)
        // The next code must be later than the last one spent.
        t.clock.advance(3 * STEP_MS)
      }
    }))

  test('a code is accepted once: a replay is 401, and of two parallel requests with one code exactly one wins', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const code = await codeNow(t, user.secret)
      const first = await passwordStep(t, user)
      assert.equal((await first.post('/api/login/2fa', { json: { code } })).statusCode, 200)
      const replay = await passwordStep(t, user)
      const refused = await replay.post('/api/login/2fa', { json: { code } })
      assert.equal(refused.statusCode, 401)
      assert.equal((refused.json() as { error: string }).error, 'Invalid code')
      // An older code than the last spent one is refused too, though still inside the drift window.
      assert.equal(
        (await replay.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret, -1) } })).statusCode,
        401,
      )

      t.clock.advance(STEP_MS)
      const next = await codeNow(t, user.secret)
      const agents = [await passwordStep(t, user), await passwordStep(t, user)]
      const statuses = await Promise.all(
        agents.map(async (a) => (await a.post('/api/login/2fa', { json: { code: next } })).statusCode),
      )
      assert.deepEqual(statuses.sort(), [200, 401])
    }))

  test('the second step must come within 5 minutes of the password, on the injected clock', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const inTime = await passwordStep(t, user)
      t.clock.advance(5 * 60_000 - 1000)
      assert.equal(
        (await inTime.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })).statusCode,
        200,
      )
      t.clock.advance(STEP_MS)
      const late = await passwordStep(t, user)
      t.clock.advance(5 * 60_000)
      const res = await late.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })
      assert.equal(res.statusCode, 401)
      assert.equal((res.json() as { error: string }).error, 'Invalid code')
      assert.equal((await late.get('/api/me')).statusCode, 401)
      const failure = t.events('two_factor_failure').at(-1)!
      assert.equal((failure.extra as { reason: string }).reason, 'expired')
    }))

  test('a code without a password step first is 401, whoever sends it', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const stranger = createAgent(t)
      const res = await stranger.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })
      assert.equal(res.statusCode, 401)
      // Logging out ends the pending sign-in with the session.
      const agent = await passwordStep(t, user)
      await agent.post('/api/logout')
      assert.equal(
        (await agent.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })).statusCode,
        401,
      )
    }))

  test('a recovery code signs in once, typed in any case and grouping; it is logged as recovery_code_used', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const code = user.recoveryCodes[3]!
      const agent = await passwordStep(t, user)
      const typed = ` ${code.replaceAll('-', ' ').toUpperCase()} `
      const res = await agent.post('/api/login/2fa', { json: { code: typed } })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal((t.events('auth_success').at(-1)!.extra as { method: string }).method, 'recovery_code')
      const used = t.events('recovery_code_used')
      assert.equal(used.length, 1)
      assert.equal((used[0]!.extra as { remaining: number }).remaining, 9)
      const again = await passwordStep(t, user)
      assert.equal((await again.post('/api/login/2fa', { json: { code } })).statusCode, 401)
    }))

  test('two parallel sign-ins with one recovery code: exactly one succeeds', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const code = user.recoveryCodes[0]!
      const agents = [await passwordStep(t, user), await passwordStep(t, user), await passwordStep(t, user)]
      const statuses = await Promise.all(
        agents.map(async (a) => (await a.post('/api/login/2fa', { json: { code } })).statusCode),
      )
      assert.deepEqual(statuses.sort(), [200, 401, 401])
    }))
})

describe('RATE_LIMIT_2FA', () => {
  test('the 6th wrong code for the account is 429 with the contract message and headers, even with the right code', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const agent = await passwordStep(t, user)
      for (let i = 0; i < 5; i++) {
        const res = await agent.post('/api/login/2fa', { json: { code: 'wrong-code-zz' } })
        assert.equal(res.statusCode, 401)
        assert.equal(res.headers['ratelimit-limit'], '5')
        assert.equal(res.headers['ratelimit-remaining'], String(4 - i))
      }
      // From another address and another browser: the count is the account's.
      const elsewhere = await passwordStep(t, user, { 'user-agent': 'another browser' })
      const refused = await elsewhere.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })
      assert.equal(refused.statusCode, 429)
      const seconds = Number(refused.headers['retry-after'])
      assert.ok(seconds > 0 && seconds <= 15 * 60)
      assert.equal((refused.json() as { error: string }).error, `Rate limit exceeded. Try again in ${seconds} seconds.`)
      assert.equal(refused.headers['ratelimit-remaining'], '0')
      const limited = t.events('rate_limited').at(-1)!
      assert.equal((limited.extra as { policy: string }).policy, 'two_factor')
      // The window passes: the right code works again.
      t.clock.advance(15 * 60_000)
      const later = await passwordStep(t, user)
      assert.equal(
        (await later.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })).statusCode,
        200,
      )
    }))

  test('a right code gives its attempt back: after 4 wrong ones the right one leaves 1', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const agent = await passwordStep(t, user)
      for (let i = 0; i < 4; i++) await agent.post('/api/login/2fa', { json: { code: '111111' } })
      const right = await agent.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })
      assert.equal(right.statusCode, 200)
      assert.equal(right.headers['ratelimit-remaining'], '1')
    }))

  test('25 parallel wrong codes for one account: at most 5 are checked, the rest are 429', () =>
    withApp({}, raceOfWrongCodes))

  const redisUrl = testRedisUrl()
  test('the same race with the counters in Redis (several instances share them)', { skip: !redisUrl }, async () => {
    const redis = createRedisClient(redisUrl!, { keyPrefix: `test:${randomBytes(6).toString('hex')}:` })
    try {
      await withApp({ deps: { redis } }, raceOfWrongCodes)
    } finally {
      const prefix = redis.options.keyPrefix ?? ''
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(prefix.length)))
      await closeRedisClient(redis)
    }
  })

  /** 25 wrong codes for one account at once, from 5 browsers that gave its password. */
  async function raceOfWrongCodes(t: TestApp) {
    const user = await totpUser(t)
    const agents = await Promise.all(Array.from({ length: 5 }, () => passwordStep(t, user)))
    const statuses = await Promise.all(
      Array.from(
        { length: 25 },
        async (_, i) =>
          (await agents[i % 5]!.post('/api/login/2fa', { json: { code: String(100000 + i) } })).statusCode,
      ),
    )
    const checked = t
      .events('two_factor_failure')
      .filter((e) => (e.extra as { reason: string }).reason === 'wrong_code')
    assert.equal(checked.length, 5, 'exactly the limit was checked')
    assert.equal(statuses.filter((s) => s === 429).length, 25 - checked.length)
    assert.equal(statuses.filter((s) => s === 401).length, checked.length)
  }

  test('the crowd: 30 accounts doing their second step from one address do not limit each other', () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const users = []
      for (let i = 0; i < 30; i++) users.push(await totpUser(t, 'learner', 'crowd'))
      const headers = { 'x-forwarded-for': '203.0.113.9' }
      const statuses = await Promise.all(
        users.map(async (user) => {
          const agent = await passwordStep(t, user, headers)
          for (let i = 0; i < 4; i++) await agent.post('/api/login/2fa', { json: { code: '999999' } })
          return (await agent.post('/api/login/2fa', { json: { code: await codeNow(t, user.secret) } })).statusCode
        }),
      )
      assert.deepEqual(statuses, Array(30).fill(200))
    }))
})

describe('turning it off and new recovery codes', () => {
  test('disable: a wrong password is 400 "Current password is incorrect"; the right one is 204 and the password alone signs in again', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const wrong = await user.agent.post('/api/2fa/totp/disable', { json: { current_password: 'not the password' } })
      assert.equal(wrong.statusCode, 400)
      assert.equal((wrong.json() as { error: string }).error, 'Current password is incorrect')
      const res = await user.agent.post('/api/2fa/totp/disable', { json: { current_password: user.password } })
      assert.equal(res.statusCode, 204)
      assert.equal(t.events('two_factor_disabled').length, 1)
      const agent = createAgent(t)
      const login = await agent.post('/api/login', { json: { username: user.username, password: user.password } })
      assert.equal((login.json() as { user: { two_factor_enabled: boolean } }).user.two_factor_enabled, false)
      // Nothing left to turn off.
      assert.equal(
        (await user.agent.post('/api/2fa/totp/disable', { json: { current_password: user.password } })).statusCode,
        409,
      )
    }))

  test('new recovery codes replace the old set, which stops working', () =>
    withApp({}, async (t) => {
      const user = await totpUser(t)
      const wrong = await user.agent.post('/api/2fa/recovery-codes', { json: { current_password: 'nope nope' } })
      assert.equal(wrong.statusCode, 400)
      const res = await user.agent.post('/api/2fa/recovery-codes', { json: { current_password: user.password } })
      assert.equal(res.statusCode, 200)
      const fresh = (res.json() as { recovery_codes: string[] }).recovery_codes
      assert.equal(fresh.length, 10)
      const old = await passwordStep(t, user)
      assert.equal((await old.post('/api/login/2fa', { json: { code: user.recoveryCodes[0]! } })).statusCode, 401)
      assert.equal((await old.post('/api/login/2fa', { json: { code: fresh[0]! } })).statusCode, 200)
    }))

  test('wrong passwords share the password change limit (RATE_LIMIT_PASSWORD_CHECK), reserved before checking', () =>
    withApp({ env: { RATE_LIMIT_PASSWORD_CHECK: '3/15m' } }, async (t) => {
      const user = await totpUser(t)
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const path = i % 2 === 0 ? '/api/2fa/totp/disable' : '/api/2fa/recovery-codes'
          return (await user.agent.post(path, { json: { current_password: `wrong ${i}` } })).statusCode
        }),
      )
      assert.equal(statuses.filter((s) => s === 400).length, 3)
      assert.equal(statuses.filter((s) => s === 429).length, 7)
      const change = await user.agent.post('/api/profile/password', {
        json: { current_password: user.password, new_password: 'another long passphrase' },
      })
      assert.equal(change.statusCode, 429, 'the password change counts with them')
    }))
})
