import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { securityEvent } from '../../src/http/request-context.ts'
import { createMetrics } from '../../src/observability/metrics.ts'
import { buildTestApp } from '../support/app.ts'

const TOKEN = 'metrics-token-0123456789'

describe('GET /metrics', () => {
  test('is off (404) unless METRICS_TOKEN is set', async () => {
    const t = await buildTestApp()
    try {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' })
      assert.equal(res.statusCode, 404)
    } finally {
      await t.close()
    }
  })

  test('needs the bearer token; a wrong or missing one is 401', async () => {
    const t = await buildTestApp({ env: { METRICS_TOKEN: TOKEN } })
    try {
      assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401)
      const wrong = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${TOKEN}x` },
      })
      assert.equal(wrong.statusCode, 401)
      assert.equal(wrong.json().error, 'Metrics token required')
    } finally {
      await t.close()
    }
  })

  test('counts requests by route pattern and status, latency, and security events', async () => {
    const t = await buildTestApp({
      env: { METRICS_TOKEN: TOKEN },
      routes: (app) => {
        app.get('/test/items/:id', { config: { access: 'public' } }, async () => ({ ok: true }))
        app.get('/test/limited', { config: { access: 'public' } }, async (req) => {
          securityEvent(req, 'rate_limited', { policy: 'login', key_kind: 'ip' })
          return {}
        })
      },
    })
    try {
      await t.app.inject({ method: 'GET', url: '/test/items/1' })
      await t.app.inject({ method: 'GET', url: '/test/items/2' })
      await t.app.inject({ method: 'GET', url: '/no/such/path/42' })
      await t.app.inject({ method: 'GET', url: '/test/limited' })
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /text\/plain/)
      const body = res.body
      const count = (labels: string) =>
        new RegExp(`^lectern_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm')
      assert.equal(count('method="GET",route="/test/items/:id",status_code="200"').exec(body)?.[1], '2')
      assert.equal(count('method="GET",route="unmatched",status_code="404"').exec(body)?.[1], '1')
      assert.doesNotMatch(body, /no\/such\/path/, 'raw paths never become labels')
      assert.match(
        body,
        /lectern_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/test\/items\/:id"/,
      )
      assert.match(body, /lectern_security_events_total\{event="rate_limited"\} 1/)
      assert.match(body, /lectern_rate_limit_rejections_total\{policy="login"\} 1/)
      assert.match(body, /lectern_process_cpu_user_seconds_total/)
    } finally {
      await t.close()
    }
  })
})

/** The value of one series in Prometheus text, or undefined when it is not served. */
function sample(body: string, series: string): number | undefined {
  const escaped = series.replace(/[{}()[\].*+?^$|\\]/g, '\\$&')
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(body)
  return match ? Number(match[1]) : undefined
}

describe('GET /metrics: readiness and the rate limiter’s store', () => {
  const scrape = async (t: { app: import('fastify').FastifyInstance }) => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
    assert.equal(res.statusCode, 200)
    return res.body
  }

  test('lectern_ready and lectern_readiness_check follow /readyz at each scrape, both ways', async () => {
    const t = await buildTestApp({ env: { METRICS_TOKEN: TOKEN } })
    try {
      let body = await scrape(t)
      assert.equal(sample(body, 'lectern_ready'), 1)
      assert.equal(sample(body, 'lectern_readiness_check{check="database"}'), 1)
      assert.equal(sample(body, 'lectern_readiness_check{check="redis"}'), undefined, 'no Redis configured')

      const ping = t.database.ping
      t.database.ping = async () => {
        throw new Error('database gone')
      }
      try {
        assert.equal((await t.app.inject('/readyz')).statusCode, 503)
        body = await scrape(t)
        assert.equal(sample(body, 'lectern_ready'), 0)
        assert.equal(sample(body, 'lectern_readiness_check{check="database"}'), 0)
      } finally {
        t.database.ping = ping
      }
      body = await scrape(t)
      assert.equal(sample(body, 'lectern_ready'), 1, 'back once the database answers')
      assert.equal(sample(body, 'lectern_readiness_check{check="database"}'), 1)
    } finally {
      await t.close()
    }
  })

  test('the Redis fallback gauge and counter are served from the start, at 0, without Redis', async () => {
    const t = await buildTestApp({ env: { METRICS_TOKEN: TOKEN } })
    try {
      const body = await scrape(t)
      assert.equal(sample(body, 'lectern_rate_limit_redis_fallback'), 0)
      assert.equal(sample(body, 'lectern_rate_limit_redis_fallbacks_total'), 0)
    } finally {
      await t.close()
    }
  })

  test('the gauge is 1 while Redis is given up and 0 again after; the counter counts each fallback', async () => {
    const metrics = createMetrics()
    const read = async (series: string) => sample(await metrics.registry.metrics(), series)
    metrics.rateLimitStore.redisUnavailable()
    assert.equal(await read('lectern_rate_limit_redis_fallback'), 1)
    metrics.rateLimitStore.redisRecovered()
    assert.equal(await read('lectern_rate_limit_redis_fallback'), 0)
    metrics.rateLimitStore.redisUnavailable()
    assert.equal(await read('lectern_rate_limit_redis_fallback'), 1)
    assert.equal(await read('lectern_rate_limit_redis_fallbacks_total'), 2)
  })
})
