import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createAgent, type Agent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, withApp as withTestApp, type TestApp, type TestAppOptions } from '../support/app.ts'

const WINDOW_MS = 15 * 60_000
const MESSAGE = /^Rate limit exceeded\. Try again in (\d+) seconds\.$/

/**
 * Routes that stand in for login, registration and avatar upload, declaring the same policies:
 * the limiter is tested on its own here; test/http/rate-limit-login.test.ts tests the real ones.
 */
function limitedRoutes(app: FastifyInstance) {
  app.post('/t/login', { config: { access: 'public', rateLimit: 'login' } }, async () => ({ ok: true }))
  app.post('/t/register', { config: { access: 'public', rateLimit: 'register' } }, async () => ({ ok: true }))
  app.post('/t/avatar', { config: { access: 'user', rateLimit: 'avatar' } }, async () => ({ ok: true }))
  app.route({
    method: ['GET', 'POST'],
    url: '/t/both',
    config: { access: 'public', rateLimit: 'login' },
    handler: async () => ({}),
  })
  app.post('/t/unlimited', { config: { access: 'public' } }, async () => ({ ok: true }))
}

/** The app with the stand-in routes above. */
const withApp = (options: TestAppOptions, run: (t: TestApp) => Promise<void>) =>
  withTestApp({ routes: limitedRoutes, ...options }, run)

const limitHeaders = (res: AgentResponse) => ({
  limit: res.headers['ratelimit-limit'],
  remaining: res.headers['ratelimit-remaining'],
  reset: res.headers['ratelimit-reset'],
})

async function postTimes(agent: Agent, url: string, times: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < times; i += 1) statuses.push((await agent.post(url, { json: {} })).statusCode)
  return statuses
}

async function signUp(agent: Agent, username: string): Promise<number> {
  const res = await agent.post('/api/register', {
    json: { username, email: `${username}@example.org`, password: 'a long enough passphrase' },
  })
  assert.equal(res.statusCode, 201, res.body)
  return (res.json() as { user: { id: number } }).user.id
}

describe('rate limits per client IP (in memory)', () => {
  test('login: the first 5 attempts are processed, the 6th gets 429 with the contract body and headers', () =>
    withApp({}, async (t) => {
      const agent = createAgent(t)
      for (let i = 1; i <= 5; i += 1) {
        const res = await agent.post('/t/login', { json: {} })
        assert.equal(res.statusCode, 200, `attempt ${i}`)
        assert.deepEqual(limitHeaders(res), { limit: '5', remaining: String(5 - i), reset: '900' })
        assert.equal(res.headers['retry-after'], undefined)
      }
      t.clock.advance(61_000)
      const refused = await agent.post('/t/login', { json: {} })
      assert.equal(refused.statusCode, 429)
      const body = refused.json() as { error: string; request_id: string }
      assert.deepEqual(Object.keys(body).sort(), ['error', 'request_id'])
      assert.equal(body.error, 'Rate limit exceeded. Try again in 839 seconds.')
      assert.equal(body.request_id, refused.headers['x-request-id'])
      assert.equal(refused.headers['retry-after'], '839')
      assert.deepEqual(limitHeaders(refused), { limit: '5', remaining: '0', reset: '839' })
    }))

  test('register: RATE_LIMIT_REGISTER applies, separately from login', () =>
    withApp({ env: { RATE_LIMIT_REGISTER: '3/1h' } }, async (t) => {
      const agent = createAgent(t)
      assert.deepEqual(await postTimes(agent, '/t/register', 4), [200, 200, 200, 429])
      const refused = await agent.post('/t/register', { json: {} })
      assert.match((refused.json() as { error: string }).error, MESSAGE)
      assert.equal(refused.headers['retry-after'], '3600')
      assert.equal(refused.headers['ratelimit-limit'], '3')
      assert.equal((await agent.post('/t/login', { json: {} })).statusCode, 200, 'the login count is its own')
    }))

  test('the count resets when the window passes, not a millisecond before', () =>
    withApp({ env: { RATE_LIMIT_LOGIN: '2/15m' } }, async (t) => {
      const agent = createAgent(t)
      assert.deepEqual(await postTimes(agent, '/t/login', 3), [200, 200, 429])
      t.clock.advance(WINDOW_MS - 1)
      const last = await agent.post('/t/login', { json: {} })
      assert.equal(last.statusCode, 429)
      assert.equal(last.headers['retry-after'], '1')
      t.clock.advance(1)
      const fresh = await agent.post('/t/login', { json: {} })
      assert.equal(fresh.statusCode, 200)
      assert.deepEqual(limitHeaders(fresh), { limit: '2', remaining: '1', reset: '900' })
    }))

  test('every attempt counts, whatever its outcome', () =>
    withApp(
      {
        routes: (app) => {
          let n = 0
          app.post('/t/flaky', { config: { access: 'public', rateLimit: 'login' } }, async (_req, reply) => {
            n += 1
            return reply.code(n % 2 === 0 ? 401 : 200).send({})
          })
        },
      },
      async (t) => {
        const agent = createAgent(t)
        assert.deepEqual(await postTimes(agent, '/t/flaky', 6), [200, 401, 200, 401, 200, 429])
      },
    ))

  test('GET requests and routes without a policy are never limited', () =>
    withApp({ env: { RATE_LIMIT_LOGIN: '1/15m' } }, async (t) => {
      const agent = createAgent(t)
      for (let i = 0; i < 10; i += 1) {
        const get = await agent.get('/t/both')
        assert.equal(get.statusCode, 200)
        assert.equal(get.headers['ratelimit-limit'], undefined)
        assert.equal((await agent.post('/t/unlimited', { json: {} })).statusCode, 200)
        assert.equal((await agent.get('/csrf-token')).statusCode, 200)
      }
      assert.deepEqual(await postTimes(agent, '/t/both', 2), [200, 429], 'the same route limits its POST')
    }))

  test('no off-by-one under 50 concurrent attempts: exactly the limit passes', () =>
    withApp({ env: { RATE_LIMIT_LOGIN: '20/15m' } }, async (t) => {
      const agent = createAgent(t)
      await agent.csrfToken()
      const responses = await Promise.all(Array.from({ length: 50 }, () => agent.post('/t/login', { json: {} })))
      const statuses = responses.map((r) => r.statusCode)
      assert.equal(statuses.filter((s) => s === 200).length, 20)
      assert.equal(statuses.filter((s) => s === 429).length, 30)
      const remaining = responses
        .filter((r) => r.statusCode === 200)
        .map((r) => Number(r.headers['ratelimit-remaining']))
        .sort((a, b) => a - b)
      assert.deepEqual(
        remaining,
        Array.from({ length: 20 }, (_, i) => i),
        'each allowed attempt had its own count',
      )
    }))

  test('a request refused by the CSRF guard uses up no attempt, yet reports the limits', () =>
    withApp({}, async (t) => {
      const agent = createAgent(t)
      for (let i = 0; i < 5; i += 1) {
        const forged = await agent.post('/t/login', { json: {}, csrf: false })
        assert.equal(forged.statusCode, 403)
        assert.deepEqual(limitHeaders(forged), { limit: '5', remaining: '5', reset: '900' })
      }
      assert.deepEqual(await postTimes(agent, '/t/login', 6), [200, 200, 200, 200, 200, 429])
    }))

  test('every 429 is a rate_limited security event with the policy and key kind, never a secret', () =>
    withApp({ env: { RATE_LIMIT_LOGIN: '1/15m' } }, async (t) => {
      const agent = createAgent(t)
      const secret = 'correct horse battery staple'
      await agent.post('/t/login', { json: { password: secret } })
      const refused = await agent.post('/t/login', { json: { password: secret } })
      assert.equal(refused.statusCode, 429)
      const events = t.events('rate_limited')
      assert.equal(events.length, 1)
      const [event] = events as Array<Record<string, any>>
      assert.equal(event!.level, 'WARNING')
      assert.equal(event!.request_id, refused.headers['x-request-id'])
      assert.equal(event!.path, '/t/login')
      assert.deepEqual(
        { policy: event!.extra.policy, key_kind: event!.extra.key_kind, key: event!.extra.key },
        { policy: 'login', key_kind: 'ip', key: 'login:ip:127.0.0.1' },
      )
      const complete = t.events('request_complete').find((line) => line.request_id === refused.headers['x-request-id'])
      assert.equal(complete?.status_code, 429)
      const everything = JSON.stringify(t.logs())
      assert.equal(everything.includes(secret), false)
      assert.equal(everything.includes(await agent.csrfToken()), false)
    }))
})

describe('the client IP follows TRUST_PROXY exactly', () => {
  test('off: a spoofed X-Forwarded-For never buys a fresh quota', () =>
    withApp({}, async (t) => {
      const statuses: number[] = []
      const agent = createAgent(t)
      for (let i = 1; i <= 6; i += 1) {
        const res = await agent.post('/t/login', { json: {}, headers: { 'x-forwarded-for': `198.51.100.${i}` } })
        statuses.push(res.statusCode)
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429])
      assert.equal(t.events('rate_limited')[0]?.remote_addr, '127.0.0.1')
    }))

  test('trusted proxies: each client has its own quota, and the right-most untrusted address is the client', () =>
    withApp({ env: { TRUST_PROXY: '127.0.0.1,10.0.0.0/8' } }, async (t) => {
      const alice = createAgent(t)
      const statuses: number[] = []
      for (let i = 1; i <= 6; i += 1) {
        // What the client wrote itself (the left part) changes every time; our proxies appended the rest.
        const forwarded = `203.0.113.${i}, 198.51.100.7, 10.1.2.3`
        statuses.push(
          (await alice.post('/t/login', { json: {}, headers: { 'x-forwarded-for': forwarded } })).statusCode,
        )
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429])
      assert.equal(
        t.events('rate_limited')[0]?.extra && (t.events('rate_limited')[0]!.extra as any).key,
        'login:ip:198.51.100.7',
      )

      const bob = createAgent(t, { headers: { 'x-forwarded-for': '198.51.100.8, 10.1.2.3' } })
      assert.equal((await bob.post('/t/login', { json: {} })).statusCode, 200, 'another client: its own quota')
    }))

  test('IPv6 clients are counted per /64; IPv4-mapped addresses count as their IPv4 address', () =>
    withApp({ env: { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_LOGIN: '3/15m' } }, async (t) => {
      const agent = createAgent(t)
      const from = (ip: string) => agent.post('/t/login', { json: {}, headers: { 'x-forwarded-for': ip } })
      assert.equal((await from('2001:db8:1:2::1')).statusCode, 200)
      assert.equal((await from('2001:db8:1:2::ffff')).statusCode, 200)
      assert.equal((await from('2001:db8:1:2:dead:beef:1:1')).statusCode, 200)
      assert.equal((await from('2001:db8:1:2::abcd')).statusCode, 429, 'same /64: same quota')
      assert.equal((await from('2001:db8:1:3::1')).statusCode, 200, 'the next /64 is another client')
      assert.equal((t.events('rate_limited')[0]!.extra as any).key, 'login:ip:2001:db8:1:2::/64')

      assert.equal((await from('192.0.2.1')).statusCode, 200)
      assert.equal((await from('::ffff:192.0.2.1')).statusCode, 200)
      assert.equal((await from('192.0.2.1')).statusCode, 200)
      assert.equal((await from('::ffff:192.0.2.1')).statusCode, 429, 'the mapped form is the same client')
    }))
})

describe('the avatar policy counts per signed-in user', () => {
  test('each user has their own uploads, whatever address they use; anonymous requests get 401', () =>
    withApp({ env: { RATE_LIMIT_AVATAR: '2/1h' } }, async (t) => {
      const ada = createAgent(t)
      const bob = createAgent(t)
      const adaId = await signUp(ada, 'ada')
      await signUp(bob, 'bob')
      assert.deepEqual(await postTimes(ada, '/t/avatar', 3), [200, 200, 429])
      const refused = await ada.post('/t/avatar', { json: {} })
      assert.equal(refused.headers['retry-after'], '3600')
      assert.deepEqual(await postTimes(bob, '/t/avatar', 3), [200, 200, 429], 'same address, another user')
      const event = t.events('rate_limited')[0] as Record<string, any>
      assert.deepEqual(
        [event.extra.policy, event.extra.key_kind, event.extra.key],
        ['avatar', 'user', `avatar:user:${adaId}`],
      )
      assert.equal(event.user_id, adaId)

      const anonymous = createAgent(t)
      for (let i = 0; i < 3; i += 1) assert.equal((await anonymous.post('/t/avatar', { json: {} })).statusCode, 401)
    }))

  test('a per-user policy on a route open to anonymous requests is refused at start-up', async () => {
    await assert.rejects(
      buildTestApp({
        routes: (app) => {
          app.post('/t/open-avatar', { config: { access: 'public', rateLimit: 'avatar' } }, async () => ({}))
        },
      }),
      /per-user rate-limit policy "avatar" needs access 'user'/,
    )
  })
})
