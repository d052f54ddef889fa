import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp } from '../support/app.ts'
import { alertRules, dashboardExpressions, metricNames, readDashboard, servedNames } from '../support/deploy-files.ts'

const TOKEN = 'metrics-token-0123456789'

/** Series Prometheus writes itself for every target; no exporter serves them. */
const WRITTEN_BY_PROMETHEUS = new Set(['up'])

describe('metric names in the dashboard and the alerts', () => {
  test('metricNames finds what is selected, not functions, keywords, labels, numbers or variables', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(lectern_x_bucket{job="$job", route=~"a|b"}[$__rate_interval])))' +
          ' > 1e3 and on (instance) up offset 5m == 0 or sum(rate(lectern_y_total[5m])) without (policy) / bool 2',
      ),
      ['lectern_x_bucket', 'up', 'lectern_y_total'],
    )
    // A variable's label_values(SELECTOR, label) is read as its selector.
    const variables = dashboardExpressions().filter(({ where }) => where.startsWith('variable'))
    assert.deepEqual(
      variables.map(({ expr }) => metricNames(expr)),
      [['lectern_ready'], ['lectern_ready']],
    )
  })

  test('every metric the dashboard and alerts.yml use is one that /metrics serves', async () => {
    const uses = new Map<string, string[]>()
    const note = (name: string, where: string) => uses.set(name, [...(uses.get(name) ?? []), where])
    for (const { where, expr } of dashboardExpressions()) for (const name of metricNames(expr)) note(name, where)
    for (const rule of alertRules()) for (const name of metricNames(rule.expr)) note(name, `alert ${rule.name}`)
    // The extraction found the families it must: an empty list would prove nothing.
    for (const expected of [
      'lectern_http_request_duration_seconds_bucket',
      'lectern_http_request_duration_seconds_count',
      'lectern_rate_limit_rejections_total',
      'lectern_rate_limit_redis_fallback',
      'lectern_ready',
      'lectern_process_resident_memory_bytes',
      'lectern_nodejs_eventloop_lag_p99_seconds',
      'up',
    ]) {
      assert.ok(uses.has(expected), `${expected} is not used`)
    }

    const t = await buildTestApp({ env: { METRICS_TOKEN: TOKEN, RATE_LIMIT_LOGIN: '1/15m' } })
    let exposition: string
    try {
      // A few requests, so that every labelled family has a series: the histogram (200 and 404),
      // a security event (a CSRF refusal) and a rate-limit refusal (the second failed login).
      await t.app.inject('/healthz')
      await t.app.inject('/api/no-such-thing')
      await t.app.inject({ method: 'POST', url: '/api/logout' })
      const agent = createAgent(t)
      const login = () => agent.post('/api/login', { json: { username: 'nobody', password: 'not the password' } })
      assert.equal((await login()).statusCode, 401)
      assert.equal((await login()).statusCode, 429)
      const res = await t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(res.statusCode, 200)
      exposition = res.body
    } finally {
      await t.close()
    }
    const served = servedNames(exposition)
    const missing = [...uses]
      .filter(([name]) => !served.has(name) && !WRITTEN_BY_PROMETHEUS.has(name))
      .map(([name, where]) => `${name} (${where.join(', ')})`)
    assert.deepEqual(missing, [], 'used but not served by /metrics')
  })

  test('several instances show together: a multi-value instance variable that every selector of the dashboard uses', () => {
    const dashboard = readDashboard()
    const instance = dashboard.templating.list.find((variable) => variable.name === 'instance')
    assert.ok(instance, 'an instance variable')
    assert.equal(instance.multi, true)
    assert.equal(instance.includeAll, true)
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      if (where.startsWith('variable')) continue
      // Every selector of a metric is narrowed to the chosen job and instances.
      for (const name of metricNames(expr)) {
        const selectors = [...expr.matchAll(new RegExp(`(?<![\\w:])${name}(\\{[^}]*\\})?(?![\\w:])`, 'g'))]
        assert.ok(selectors.length > 0, `${where}: ${name}`)
        for (const [, labels] of selectors) {
          assert.ok(
            labels?.includes('job="$job"') && labels.includes('instance=~"$instance"'),
            `${where}: ${name}${labels ?? ''} is not narrowed to $job and $instance`,
          )
        }
      }
    }
  })
})
