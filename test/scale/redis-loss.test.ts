import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createHttpClient, type HttpResponse } from '../support/http-client.ts'
import { REDIS_RETRY_INTERVAL_MS } from '../../src/security/rate-limit/redis-failover.ts'
import { logLineProblem } from '../support/log-schema.ts'
import type { PrivateRedis } from '../support/private-services.ts'
import type { RunningServer } from '../support/process.ts'
import { clusterServices, logLinesOf, startCluster, type Cluster } from './scale-support.ts'

/**
 * CONTRACT §5 and the README with real processes: two `bin/lectern serve` instances share a
 * PostgreSQL schema and a private redis-server, which the test stops and starts again on the
 * same port. While it is gone each instance keeps limiting on its own (no 5xx, no fail-open),
 * says so once, and /readyz says 503; once it answers, both count in Redis again.
 */

const { postgresUrl, skip } = clusterServices()

const LOGIN_LIMIT = 3
const RECOVERY_DEADLINE_MS = 20_000
const LOG_DEADLINE_MS = 5_000
const POLL_INTERVAL_MS = 100

interface LogRecord {
  event: string
  level: string
  request_id?: string
  path?: string
  status_code?: number
}

function records(server: RunningServer): LogRecord[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogRecord)
}

const events = (server: RunningServer, name: string) => records(server).filter((record) => record.event === name)

/** Waits until the instance has logged the completion of `response`, so every line logged before it is in. */
async function logsThrough(server: RunningServer, response: HttpResponse): Promise<void> {
  const requestId = response.headers.get('x-request-id')
  assert.ok(requestId, 'every response names its request id')
  const deadline = Date.now() + LOG_DEADLINE_MS
  while (!records(server).some((r) => r.event === 'request_complete' && r.request_id === requestId)) {
    assert.ok(Date.now() < deadline, `${server.url} did not log request ${requestId}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS))
  }
}

async function readiness(server: RunningServer) {
  // As a load balancer asks: without a session cookie.
  const res = await fetch(`${server.url}/readyz`)
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks }
}

/**
 * Failed logins by one client, `clientIp`, told to each server in turn by X-Forwarded-For
 * (believed from 127.0.0.1 only: TRUST_PROXY below), so each phase has a quota of its own.
 */
async function failedLogins(targets: RunningServer[], clientIp: string, username: string) {
  const client = createHttpClient()
  const responses: HttpResponse[] = []
  for (const server of targets) {
    const csrf = await client.csrfToken(server.url)
    responses.push(
      await client.request(`${server.url}/api/login`, {
        method: 'POST',
        csrf,
        headers: { 'x-forwarded-for': clientIp },
        json: { username, password: 'not the password at all' },
      }),
    )
  }
  return { statuses: responses.map((res) => res.status), responses, last: responses.at(-1)! }
}

function assertRefusal(res: HttpResponse) {
  assert.equal(res.status, 429)
  assert.match(res.json<{ error: string }>().error, /^Rate limit exceeded\. Try again in \d+ seconds\.$/)
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/)
  assert.equal(res.headers.get('ratelimit-limit'), String(LOGIN_LIMIT))
}

const WITHIN_LIMIT = Array<number>(LOGIN_LIMIT).fill(401)
const REFUSED_AFTER_LIMIT = [...WITHIN_LIMIT, 429]

describe('Redis lost and back under two instances', { skip, timeout: 180_000 }, () => {
  let a: RunningServer
  let b: RunningServer
  let redis: PrivateRedis
  let cluster: Cluster | undefined

  before(async () => {
    cluster = await startCluster(postgresUrl!, 2, {
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_LOGIN: `${LOGIN_LIMIT}/15m`,
    })
    ;[a, b] = cluster.servers as [RunningServer, RunningServer]
    redis = cluster.redis
  })

  after(async () => {
    const lines = logLinesOf([a, b])
    await cluster?.stop()
    for (const line of lines) assert.equal(logLineProblem(line), null)
    for (const server of [a, b].filter(Boolean)) {
      assert.deepEqual(events(server, 'unhandled_error'), [], `${server.url} logged an unhandled error`)
      // /readyz's 503 while Redis is gone is the one 5xx asked for.
      const serverErrors = events(server, 'request_complete').filter(
        (r) => (r.status_code ?? 0) >= 500 && r.path !== '/readyz',
      )
      assert.deepEqual(serverErrors, [], `${server.url} answered with a 5xx`)
    }
  })

  test('while Redis answers, both instances count one login limit: the 4th attempt is refused', async () => {
    for (const server of [a, b])
      assert.deepEqual(await readiness(server), { status: 200, checks: { database: 'ok', redis: 'ok' } })
    // Alternating: counted apart, neither instance would have reached the limit by the 4th.
    const shared = await failedLogins([a, b, a, b], '198.51.100.1', 'nobody_before')
    assert.deepEqual(shared.statuses, REFUSED_AFTER_LIMIT)
    assertRefusal(shared.last)
    for (const server of [a, b]) assert.deepEqual(events(server, 'redis_unavailable'), [])
  })

  test('Redis stopped: /readyz 503, logins still answered and limited per instance, one warning each', async () => {
    await redis.stop()

    for (const server of [a, b]) {
      assert.deepEqual(await readiness(server), { status: 503, checks: { database: 'ok', redis: 'unavailable' } })
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the process lives on')
    }

    // Each instance allows the limit, then refuses: limiting on its own, neither 5xx nor fail-open.
    for (const server of [a, b]) {
      const alone = await failedLogins([server, server, server, server], '198.51.100.2', 'nobody_during')
      assert.deepEqual(alone.statuses, REFUSED_AFTER_LIMIT, `${server.url} while Redis is gone`)
      assertRefusal(alone.last)
    }
    // Kept up past the interval at which an instance tries Redis again: every retry fails
    // again, the client stays refused, and still only the first failure is reported.
    const until = Date.now() + 3 * REDIS_RETRY_INTERVAL_MS
    let pair: Awaited<ReturnType<typeof failedLogins>>
    do {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS))
      pair = await failedLogins([a, b], '198.51.100.2', 'nobody_during')
      for (const res of pair.responses) assertRefusal(res)
    } while (Date.now() < until)
    await logsThrough(a, pair.responses[0]!)
    await logsThrough(b, pair.responses[1]!)

    for (const server of [a, b]) {
      const warnings = events(server, 'redis_unavailable')
      assert.equal(warnings.length, 1, `${server.url}: exactly one redis_unavailable, not one per request`)
      assert.equal(warnings[0]!.level, 'WARNING')
      assert.deepEqual(events(server, 'redis_recovered'), [])
    }
  })

  test('Redis started again on the same port: /readyz 200 and one shared limit again', async () => {
    await redis.start()

    for (const server of [a, b]) {
      const deadline = Date.now() + RECOVERY_DEADLINE_MS
      let ready = await readiness(server)
      while (ready.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS))
        ready = await readiness(server)
      }
      assert.deepEqual(ready, { status: 200, checks: { database: 'ok', redis: 'ok' } }, `${server.url} ready again`)
    }

    // Each order ends on the other instance: an instance still counting in memory would let its 4th through.
    const endingOnB = await failedLogins([a, b, a, b], '198.51.100.3', 'nobody_after_1')
    assert.deepEqual(endingOnB.statuses, REFUSED_AFTER_LIMIT, 'b refuses what a counted')
    assertRefusal(endingOnB.last)
    const endingOnA = await failedLogins([b, a, b, a], '198.51.100.4', 'nobody_after_2')
    assert.deepEqual(endingOnA.statuses, REFUSED_AFTER_LIMIT, 'a refuses what b counted')
    assertRefusal(endingOnA.last)

    await logsThrough(a, endingOnA.last)
    await logsThrough(b, endingOnB.last)
    for (const server of [a, b]) {
      assert.equal(events(server, 'redis_recovered').length, 1, `${server.url}: one redis_recovered`)
      assert.equal(events(server, 'redis_unavailable').length, 1, `${server.url}: still the one warning`)
    }
  })
})
