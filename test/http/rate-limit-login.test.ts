import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { withApp, type TestApp } from '../support/app.ts'

const PASSWORD = 'a long enough passphrase'
const REFUSED = /^Rate limit exceeded\. Try again in \d+ seconds\.$/
const WINDOW_MS = 15 * 60_000

async function signUp(agent: Agent, username: string): Promise<number> {
  const res = await agent.post('/api/register', {
    json: { username, email: `${username}@example.org`, password: PASSWORD },
  })
  assert.equal(res.statusCode, 201, res.body)
  return (res.json() as { user: { id: number } }).user.id
}

/** A login from its own client address (behind TRUST_PROXY), so only the per-username limit can bite. */
function loginFrom(t: TestApp, ip: string, username: string, password: string) {
  return createAgent(t, { headers: { 'x-forwarded-for': ip } }).post('/api/login', { json: { username, password } })
}

describe('POST /api/login and POST /api/register, per client IP', () => {
  test('login: 5 failures are processed, sign-ins are not counted; then every attempt is 429, the right password too', () =>
    withApp({}, async (t) => {
      const agent = createAgent(t)
      await signUp(createAgent(t), 'ada')
      const statuses: number[] = []
      for (const password of ['wrong 1', PASSWORD, 'wrong 2', PASSWORD, 'wrong 3', 'wrong 4', PASSWORD, 'wrong 5']) {
        statuses.push((await agent.post('/api/login', { json: { username: 'ada', password } })).statusCode)
      }
      assert.deepEqual(statuses, [401, 200, 401, 200, 401, 401, 200, 401])
      const refused = await agent.post('/api/login', { json: { username: 'ada', password: PASSWORD } })
      assert.equal(refused.statusCode, 429)
      assert.match((refused.json() as { error: string }).error, REFUSED)
      assert.equal(refused.headers['ratelimit-limit'], '5')
      assert.equal(refused.headers['ratelimit-remaining'], '0')
      assert.ok(Number(refused.headers['retry-after']) > 0)
      assert.equal(t.events('auth_success').filter((e) => (e.extra as any).method === 'password').length, 3)
    }))

  test('a sign-in reports the attempts left as they were before it (its reservation given back)', () =>
    withApp({}, async (t) => {
      await signUp(createAgent(t), 'ada')
      const agent = createAgent(t)
      const wrong = await agent.post('/api/login', { json: { username: 'ada', password: 'wrong' } })
      assert.equal(wrong.headers['ratelimit-remaining'], '4')
      const right = await agent.post('/api/login', { json: { username: 'ada', password: PASSWORD } })
      assert.equal(right.statusCode, 200)
      assert.equal(right.headers['ratelimit-remaining'], '4')
    }))

  test('a class of 40 behind one address signs in within a minute: all 200; a guesser there is then stopped', () =>
    withApp({ env: { RATE_LIMIT_REGISTER: '100/1h' } }, async (t) => {
      const names = Array.from({ length: 40 }, (_, i) => `pupil${i}`)
      for (const name of names) await signUp(createAgent(t), name)
      const school = createAgent(t)
      for (const name of names) {
        const res = await school.post('/api/login', { json: { username: name, password: PASSWORD } })
        assert.equal(res.statusCode, 200, `${name} signs in`)
        t.clock.advance(1_000)
      }
      // Two typos in the class are fine too.
      assert.equal(
        (await school.post('/api/login', { json: { username: 'pupil1', password: 'typo' } })).statusCode,
        401,
      )
      assert.equal(
        (await school.post('/api/login', { json: { username: 'pupil1', password: PASSWORD } })).statusCode,
        200,
      )
      // A guesser from the same address gets three more failures, then everyone there waits.
      for (let i = 0; i < 4; i += 1) {
        const res = await school.post('/api/login', { json: { username: 'pupil2', password: `guess ${i}` } })
        assert.equal(res.statusCode, 401)
      }
      assert.equal(
        (await school.post('/api/login', { json: { username: 'pupil3', password: PASSWORD } })).statusCode,
        429,
      )
    }))

  test('a guesser at one address: blocked after 5 failures, every attempt refused until the window ends, even the right password', () =>
    withApp({}, async (t) => {
      await signUp(createAgent(t), 'ada')
      const guesser = createAgent(t)
      for (let i = 0; i < 5; i += 1) {
        const res = await guesser.post('/api/login', { json: { username: 'ada', password: `guess ${i}` } })
        assert.equal(res.statusCode, 401)
      }
      // Every minute of the window, whatever is tried (the right password included), is a 429.
      for (let minute = 0; minute < 15; minute += 1) {
        const res = await guesser.post('/api/login', { json: { username: 'ada', password: PASSWORD } })
        assert.equal(res.statusCode, 429, `minute ${minute}`)
        t.clock.advance(60_000 - 1)
      }
      // 15 ms before the window ends: still refused; once it has ended, the owner is let in.
      t.clock.advance(WINDOW_MS - 15 * (60_000 - 1) - 15)
      assert.equal(
        (await guesser.post('/api/login', { json: { username: 'ada', password: PASSWORD } })).statusCode,
        429,
      )
      t.clock.advance(15)
      const after = await guesser.post('/api/login', { json: { username: 'ada', password: PASSWORD } })
      assert.equal(after.statusCode, 200)
    }))

  test('a malformed login counts as a failure', () =>
    withApp({}, async (t) => {
      const agent = createAgent(t)
      const statuses: number[] = []
      for (let i = 0; i < 6; i += 1)
        statuses.push((await agent.post('/api/login', { json: { username: 'ada' } })).statusCode)
      assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429])
    }))

  test('register: 5 attempts whatever their outcome, then 429; nobody is created by the 6th', () =>
    withApp({}, async (t) => {
      const agent = createAgent(t)
      const statuses: number[] = []
      const bodies = [
        { username: 'reg1', email: 'reg1@example.org', password: PASSWORD },
        { username: 'reg1', email: 'other@example.org', password: PASSWORD }, // taken
        { username: 'x', email: 'x@example.org', password: PASSWORD }, // invalid
        { username: 'reg2', email: 'reg2@example.org', password: PASSWORD },
        { username: 'reg3', email: 'reg3@example.org', password: PASSWORD },
        { username: 'reg4', email: 'reg4@example.org', password: PASSWORD },
      ]
      for (const json of bodies) statuses.push((await agent.post('/api/register', { json })).statusCode)
      assert.deepEqual(statuses, [201, 409, 400, 201, 201, 429])
      const users = await t.database.db.selectFrom('users').select('username').execute()
      assert.deepEqual(users.map((u) => u.username).sort(), ['reg1', 'reg2', 'reg3'])
    }))
})

describe('failed logins per attempted username, from any address (RATE_LIMIT_LOGIN_USER)', () => {
  const env = { TRUST_PROXY: '127.0.0.1' }

  test('10 failures from 10 addresses; the 11th attempt, from a fresh address with the right password, is 429', () =>
    withApp({ env }, async (t) => {
      await signUp(createAgent(t), 'ada')
      for (let i = 1; i <= 10; i += 1) {
        const res = await loginFrom(t, `198.51.100.${i}`, i % 2 ? 'ada' : 'ADA', `guess ${i}`)
        assert.equal(res.statusCode, 401, `failure ${i} (the name in any case is one counter)`)
      }
      const refused = await loginFrom(t, '203.0.113.99', 'Ada', PASSWORD)
      assert.equal(refused.statusCode, 429)
      assert.match((refused.json() as { error: string }).error, REFUSED)
      assert.equal(refused.headers['retry-after'], '900')
      // The headers speak of the limit that refused, not of the address's (which has attempts left).
      assert.equal(refused.headers['ratelimit-limit'], '10')
      assert.equal(refused.headers['ratelimit-remaining'], '0')
      // Refused before the password was looked at: no success, no 11th failure.
      assert.equal(t.events('auth_success').filter((e) => (e.extra as any).method === 'password').length, 0)
      assert.equal(t.events('auth_failure').length, 10)
      const [event] = t.events('rate_limited') as Array<Record<string, any>>
      assert.equal(event!.extra.policy, 'login_user')
      assert.equal(event!.extra.key_kind, 'username')
      assert.match(event!.extra.key, /^login_user:username:[0-9a-f]{32}$/)
      assert.equal(JSON.stringify(t.events('rate_limited')).toLowerCase().includes('ada'), false)
      assert.equal(JSON.stringify(t.logs()).includes(PASSWORD), false)

      // Another username is unaffected, from the same addresses.
      await signUp(createAgent(t, { headers: { 'x-forwarded-for': '192.0.2.50' } }), 'bob')
      assert.equal((await loginFrom(t, '198.51.100.1', 'bob', PASSWORD)).statusCode, 200)
    }))

  test('usernames that do not exist are limited the same way (credential stuffing over guessed names)', () =>
    withApp({ env: { ...env, RATE_LIMIT_LOGIN_USER: '3/15m' } }, async (t) => {
      const statuses: number[] = []
      for (let i = 1; i <= 4; i += 1) statuses.push((await loginFrom(t, `198.51.100.${i}`, 'ghost', 'x')).statusCode)
      assert.deepEqual(statuses, [401, 401, 401, 429])
    }))

  test('a successful login resets the count', () =>
    withApp({ env: { ...env, RATE_LIMIT_LOGIN_USER: '3/15m' } }, async (t) => {
      await signUp(createAgent(t), 'ada')
      const attempt = (i: number, password: string) => loginFrom(t, `198.51.100.${i}`, 'ada', password)
      assert.equal((await attempt(1, 'wrong')).statusCode, 401)
      assert.equal((await attempt(2, 'wrong')).statusCode, 401)
      assert.equal((await attempt(3, PASSWORD)).statusCode, 200)
      const after: number[] = []
      for (let i = 4; i <= 7; i += 1) after.push((await attempt(i, 'wrong')).statusCode)
      assert.deepEqual(after, [401, 401, 401, 429], 'three fresh failures before the block')
    }))

  test('a real user is never locked out for longer than the window', () =>
    withApp({ env: { ...env, RATE_LIMIT_LOGIN_USER: '3/15m' } }, async (t) => {
      await signUp(createAgent(t), 'ada')
      for (let i = 1; i <= 3; i += 1) await loginFrom(t, `198.51.100.${i}`, 'ada', 'wrong')
      t.clock.advance(WINDOW_MS - 1_000)
      // Refused attempts during the block do not extend it.
      for (let i = 4; i <= 8; i += 1) assert.equal((await loginFrom(t, `198.51.100.${i}`, 'ada', 'x')).statusCode, 429)
      const last = await loginFrom(t, '198.51.100.9', 'ada', PASSWORD)
      assert.equal(last.statusCode, 429)
      assert.equal(last.headers['retry-after'], '1')
      t.clock.advance(1_000)
      assert.equal((await loginFrom(t, '198.51.100.10', 'ada', PASSWORD)).statusCode, 200)
    }))
})

describe('admins see and clear blocks over the API', () => {
  test('GET lists, DELETE KEY lifts one (username:NAME too), DELETE lifts all; each is an admin_action', () =>
    withApp({ env: { RATE_LIMIT_LOGIN_USER: '2/15m' } }, async (t) => {
      const admin = createAgent(t)
      const adminId = await signUp(admin, 'root')
      await t.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', adminId).execute()
      const learner = createAgent(t)
      await signUp(learner, 'learner')

      const attacker = createAgent(t)
      // Two failures block the name; three more names make five failures, which block the address.
      for (const username of ['ada', 'ada', 'bea', 'cal', 'dee', 'eve']) {
        await attacker.post('/api/login', { json: { username, password: 'x' } })
      }
      const listed = await admin.get('/api/admin/rate-limits')
      assert.equal(listed.statusCode, 200)
      const { blocks } = listed.json() as { blocks: Array<Record<string, unknown>> }
      assert.deepEqual(blocks.map((b) => [b.policy, b.key_kind]).sort(), [
        ['login', 'ip'],
        ['login_user', 'username'],
      ])
      assert.ok(blocks.every((b) => b.resets_in_seconds === 900))

      assert.equal((await learner.get('/api/admin/rate-limits')).statusCode, 403)
      assert.equal((await createAgent(t).get('/api/admin/rate-limits')).statusCode, 401)
      assert.equal((await learner.delete('/api/admin/rate-limits')).statusCode, 403)

      const one = await admin.delete(`/api/admin/rate-limits/${encodeURIComponent('login:ip:127.0.0.1')}`)
      assert.equal(one.statusCode, 204)
      const user = await admin.delete(`/api/admin/rate-limits/${encodeURIComponent('username:ADA')}`)
      assert.equal(user.statusCode, 204)
      assert.deepEqual((await admin.get('/api/admin/rate-limits')).json(), { blocks: [] })
      const missing = await admin.delete(`/api/admin/rate-limits/${encodeURIComponent('login:ip:192.0.2.1')}`)
      assert.equal(missing.statusCode, 404)
      assert.equal((await admin.delete('/api/admin/rate-limits/nonsense')).statusCode, 404)

      // Lifted at once on this instance: the address may try again, and so may the name.
      assert.equal((await attacker.post('/api/login', { json: { username: 'ada', password: 'x' } })).statusCode, 401)
      for (const username of ['ada', 'fay', 'gus', 'hal']) {
        await attacker.post('/api/login', { json: { username, password: 'x' } })
      }
      assert.deepEqual(await admin.delete('/api/admin/rate-limits').then((r) => [r.statusCode, r.json()]), [
        200,
        { cleared: 2 },
      ])
      const actions = t.events('admin_action').map((e) => (e.extra as any).action)
      assert.deepEqual(actions, [
        'rate_limit_clear',
        'rate_limit_clear',
        'rate_limit_clear',
        'rate_limit_clear',
        'rate_limit_clear_all',
      ])
      assert.ok(t.events('admin_action').every((e) => e.user_id === adminId))
    }))
})
