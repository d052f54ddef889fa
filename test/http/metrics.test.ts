import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { securityEvent } from '../../src/http/request-context.ts'
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
