import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { createManualClock } from '../../src/lib/clock.ts'
import { REDIS_KEY_PREFIX } from '../../src/security/rate-limit/redis-blocks.ts'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp, type TestAppOptions } from '../support/app.ts'
import { testRedisUrl } from '../support/services.ts'

const redisUrl = testRedisUrl()

function limitedRoutes(app: FastifyInstance) {
  app.post('/t/login', { config: { access: 'public', rateLimit: 'login' } }, async () => ({ ok: true }))
}

/** A client whose every key lives under a prefix of its own, so tests never see each other's counters. */
function isolatedClient(url: string, overrides: Parameters<typeof createRedisClient>[1] = {}): Redis {
  return createRedisClient(url, { keyPrefix: `test:${randomBytes(6).toString('hex')}:`, ...overrides })
}

async function deleteOwnKeys(client: Redis) {
  const prefix = client.options.keyPrefix ?? ''
  if (client.status !== 'ready') return
  const keys = await client.keys(`${prefix}*`)
  // KEYS returns full names; DEL would prefix them again.
  if (keys.length > 0) await client.del(...keys.map((key) => key.slice(prefix.length)))
}

async function ready(client: Redis) {
  if (client.status !== 'ready') await once(client, 'ready')
}

async function postTimes(agent: Agent, times: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < times; i += 1) statuses.push((await agent.post('/t/login', { json: {} })).statusCode)
  return statuses
}

/**
 * A TCP relay between the client and the test Redis that the test can cut and restore, on the
 * same port: "Redis went away" without stopping the shared server or needing a redis-server binary.
 */
async function createRelay(target: URL) {
  const sockets = new Set<Socket>()
  let server: Server | null = null
  let port = 0
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname)
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => socket.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  }
  await listen()
  return {
    url: () => `redis://127.0.0.1:${port}`,
    async cut() {
      const closed = once(server!, 'close')
      server!.close()
      for (const socket of sockets) socket.destroy()
      await closed
    },
    restore: listen,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      if (server?.listening) {
        server.close()
        await once(server, 'close')
      }
    },
  }
}

const METRICS_TOKEN = 'metrics-token-0123456789'

/** What /metrics says of the rate limiter's store and of Redis's readiness check. */
async function fallbackMetrics(t: TestApp) {
  const res = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  const value = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(res.body)?.[1])
  return {
    gauge: value('lectern_rate_limit_redis_fallback'),
    fallbacks: value('lectern_rate_limit_redis_fallbacks_total'),
    redisReady: value('lectern_readiness_check\\{check="redis"\\}'),
  }
}

describe('rate limits shared through Redis', { skip: redisUrl === undefined }, () => {
  const clients: Redis[] = []
  const apps: TestApp[] = []

  const appWith = async (redis: Redis, options: TestAppOptions = {}) => {
    const t = await buildTestApp({ routes: limitedRoutes, ...options, deps: { redis, ...options.deps } })
    apps.push(t)
    return t
  }
  const client = async (url = redisUrl!, overrides = {}) => {
    const redis = isolatedClient(url, overrides)
    clients.push(redis)
    await ready(redis)
    return redis
  }

  after(async () => {
    for (const t of apps) await t.close()
    for (const redis of clients) {
      await deleteOwnKeys(redis).catch(() => {})
      await closeRedisClient(redis)
    }
  })

  test('login: 5 attempts, then 429; the count and its expiry live in Redis', async () => {
    const redis = await client()
    const t = await appWith(redis)
    const agent = createAgent(t)
    for (let i = 1; i <= 5; i += 1) {
      const res = await agent.post('/t/login', { json: {} })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['ratelimit-remaining'], String(5 - i))
      assert.equal(res.headers['ratelimit-reset'], '900')
    }
    const refused = await agent.post('/t/login', { json: {} })
    assert.equal(refused.statusCode, 429)
    assert.equal((refused.json() as { error: string }).error, 'Rate limit exceeded. Try again in 900 seconds.')
    assert.equal(refused.headers['retry-after'], '900')
    const key = `${REDIS_KEY_PREFIX}login:ip:127.0.0.1`
    assert.equal(await redis.get(key), '6')
    const ttlMs = await redis.pttl(key)
    assert.ok(ttlMs > 895_000 && ttlMs <= 900_000, `Redis expires the window with it (pttl ${ttlMs})`)
    assert.deepEqual(t.events('redis_unavailable'), [])
  })

  test('the window resets when Redis expires the key', async () => {
    const redis = await client()
    const t = await appWith(redis, { env: { RATE_LIMIT_LOGIN: '2/15m' } })
    const agent = createAgent(t)
    assert.deepEqual(await postTimes(agent, 3), [200, 200, 429])
    // What Redis does when the TTL runs out, without waiting 15 minutes for it.
    await redis.del(`${REDIS_KEY_PREFIX}login:ip:127.0.0.1`)
    assert.deepEqual(await postTimes(agent, 3), [200, 200, 429])
  })

  test('two instances share one count, atomically: 50 concurrent attempts, exactly 20 pass', async () => {
    const redis = await client()
    const env = { RATE_LIMIT_LOGIN: '20/15m' }
    const one = await appWith(redis, { env })
    const two = await appWith(await client(redisUrl, { keyPrefix: redis.options.keyPrefix }), { env })
    const agents = [createAgent(one), createAgent(two)]
    for (const agent of agents) await agent.csrfToken()
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => agents[i % 2]!.post('/t/login', { json: {} })),
    )
    const statuses = responses.map((r) => r.statusCode)
    assert.equal(statuses.filter((s) => s === 200).length, 20)
    assert.equal(statuses.filter((s) => s === 429).length, 30)
    assert.equal((await agents[0]!.post('/t/login', { json: {} })).statusCode, 429)
    assert.equal((await agents[1]!.post('/t/login', { json: {} })).statusCode, 429)
  })

  test('/readyz reports Redis', async () => {
    const t = await appWith(await client())
    const res = await t.app.inject('/readyz')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'ok', checks: { database: 'ok', redis: 'ok' } })
  })

  test('Redis goes away mid-run: in-memory limits, one WARNING, no 500; back to Redis when it returns', async () => {
    const relay = await createRelay(new URL(redisUrl!))
    try {
      // Reconnect quickly in the test; the production back-off is up to 2 s.
      const redis = await client(relay.url(), { retryStrategy: () => 20 })
      const clock = createManualClock()
      const t = await appWith(redis, { clock, env: { METRICS_TOKEN } })
      const agent = createAgent(t)
      assert.deepEqual(await postTimes(agent, 2), [200, 200])
      assert.deepEqual(await fallbackMetrics(t), { gauge: 0, fallbacks: 0, redisReady: 1 })
      assert.equal(await redis.get(`${REDIS_KEY_PREFIX}login:ip:127.0.0.1`), '2')

      await relay.cut()
      // This instance keeps limiting on its own: its memory count starts afresh, no request fails.
      assert.deepEqual(await postTimes(agent, 7), [200, 200, 200, 200, 200, 429, 429])
      const warnings = t.events('redis_unavailable')
      assert.equal(warnings.length, 1, 'one warning, not one per request')
      assert.equal(warnings[0]!.level, 'WARNING')
      assert.equal(t.events('unhandled_error').length, 0)
      const readyz = await t.app.inject('/readyz')
      assert.equal(readyz.statusCode, 503)
      assert.deepEqual(readyz.json(), { status: 'unavailable', checks: { database: 'ok', redis: 'unavailable' } })
      assert.deepEqual(await fallbackMetrics(t), { gauge: 1, fallbacks: 1, redisReady: 0 })

      await relay.restore()
      await ready(redis)
      assert.deepEqual(await postTimes(agent, 1), [200], 'Redis counts again: 3 of 5')
      assert.equal(await redis.get(`${REDIS_KEY_PREFIX}login:ip:127.0.0.1`), '3')
      assert.equal(t.events('redis_recovered').length, 1)
      assert.equal(t.events('redis_unavailable').length, 1)
      assert.equal((await t.app.inject('/readyz')).statusCode, 200)
      assert.deepEqual(await fallbackMetrics(t), { gauge: 0, fallbacks: 1, redisReady: 1 })
    } finally {
      await relay.close()
    }
  })

  test('Redis unreachable from the start: limits still apply, in memory, without a stall', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    const redis = isolatedClient(`redis://127.0.0.1:${port}`)
    clients.push(redis)
    const t = await appWith(redis)
    const agent = createAgent(t)
    const startedMs = performance.now()
    assert.deepEqual(await postTimes(agent, 6), [200, 200, 200, 200, 200, 429])
    assert.ok(performance.now() - startedMs < 5_000, 'no request waited on the dead Redis')
    assert.equal(t.events('redis_unavailable').length, 1)
    assert.equal((await t.app.inject('/readyz')).statusCode, 503)
  })

  test('admins see and clear blocks over the API, in Redis', async () => {
    const redis = await client()
    const t = await appWith(redis, { env: { RATE_LIMIT_LOGIN: '1/15m' } })
    const agent = createAgent(t)
    assert.deepEqual(await postTimes(agent, 2), [200, 429])
    const blocks = await t.app.rateLimits.blocks.list()
    assert.deepEqual(
      blocks.map(({ key, policy, key_kind }) => ({ key, policy, key_kind })),
      [{ key: 'login:ip:127.0.0.1', policy: 'login', key_kind: 'ip' }],
    )
    assert.ok(blocks[0]!.resets_in_seconds > 890 && blocks[0]!.resets_in_seconds <= 900)
    assert.equal(await t.app.rateLimits.blocks.clear('login:ip:127.0.0.1'), true)
    assert.equal(await redis.exists(`${REDIS_KEY_PREFIX}login:ip:127.0.0.1`), 0)
    assert.deepEqual(await postTimes(agent, 2), [200, 429])
    assert.equal(await t.app.rateLimits.blocks.clearAll(), 1)
    assert.deepEqual(await postTimes(agent, 1), [200])
  })
})
