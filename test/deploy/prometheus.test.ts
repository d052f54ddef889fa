import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  ALERT_TESTS_PATH,
  ALERTS_PATH,
  alertRules,
  dashboardExpressions,
  findPromtool,
  promtoolMissing,
} from '../support/deploy-files.ts'

const DEPLOYMENT_DOC = new URL('../../docs/deployment.md', import.meta.url)

function promtool(...args: string[]) {
  const result = spawnSync(findPromtool()!, args, { encoding: 'utf8', timeout: 60_000 })
  return { code: result.status, output: `${result.stdout}${result.stderr}` }
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as dashes. */
const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

describe('deploy/prometheus/alerts.yml (CONTRACT §13)', () => {
  const rules = alertRules()

  test('the analyzer’s two alerts and the operational ones are all there', () => {
    assert.deepEqual(rules.map((rule) => rule.name).sort(), [
      'LecternErrorRateHigh',
      'LecternInstanceDown',
      'LecternLatencyP95High',
      'LecternNotReady',
      'LecternRateLimitedSpike',
      'LecternRedisFallback',
      'LecternServerErrors',
    ])
  })

  test('the analyzer’s thresholds, as src/cli/analyze-logs/alerts.ts has them: error rate > 0.01, p95 > 1 s', () => {
    const byName = new Map(rules.map((rule) => [rule.name, rule.expr]))
    assert.match(byName.get('LecternErrorRateHigh')!, /status_code=~"\[45\]\.\."\}.*\/.*> 0\.01$/)
    assert.match(byName.get('LecternLatencyP95High')!, /^histogram_quantile\(0\.95, .*_bucket\[5m\]\)\)\) > 1$/)
  })

  test('every rule waits (for:), has a severity, a summary, a description and a runbook section that exists', () => {
    const headings = new Set(
      readFileSync(DEPLOYMENT_DOC, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('#'))
        .map((line) => anchorOf(line.replace(/^#+\s*/, ''))),
    )
    for (const rule of rules) {
      assert.match(rule.text, /^\s+for: [1-9]\d*m$/m, rule.name)
      assert.match(rule.text, /^\s+severity: (warning|critical)$/m, rule.name)
      assert.match(rule.text, /^\s+summary: \S/m, rule.name)
      assert.match(rule.text, /^\s+description: \S/m, rule.name)
      const runbook = /^\s+runbook: docs\/deployment\.md#(\S+)$/m.exec(rule.text)?.[1]
      assert.ok(
        runbook !== undefined && headings.has(runbook),
        `${rule.name}: runbook #${runbook} not in deployment.md`,
      )
    }
  })

  describe('promtool', { skip: promtoolMissing() ?? false }, () => {
    test('promtool check rules accepts the file', () => {
      const { code, output } = promtool('check', 'rules', ALERTS_PATH)
      assert.equal(code, 0, output)
      assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`))
    })

    test('promtool test rules: each alert fires past its threshold, and not at it or before its for:', () => {
      const { code, output } = promtool('test', 'rules', ALERT_TESTS_PATH)
      assert.equal(code, 0, output)
      assert.match(output, /SUCCESS/)
      // Each alert is tested firing somewhere in the file.
      const tests = readFileSync(ALERT_TESTS_PATH, 'utf8')
      for (const rule of rules) {
        assert.match(tests, new RegExp(`alertname: ${rule.name}\\n\\s+exp_alerts:`), `${rule.name} never shown firing`)
      }
    })

    test('the rule tests can fail: a threshold moved by a hair is caught', () => {
      const dir = mkdtempSync(join(tmpdir(), 'lectern-rules-'))
      try {
        const moved = readFileSync(ALERTS_PATH, 'utf8').replace(/^(\s+)> 0\.01$/m, '$1>= 0.01')
        assert.notEqual(moved, readFileSync(ALERTS_PATH, 'utf8'))
        writeFileSync(join(dir, 'alerts.yml'), moved)
        writeFileSync(join(dir, 'alerts.test.yml'), readFileSync(ALERT_TESTS_PATH))
        const { code, output } = promtool('test', 'rules', join(dir, 'alerts.test.yml'))
        assert.equal(code, 1, output)
        assert.match(output, /LecternErrorRateHigh/)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    test('every query of the Grafana dashboard is PromQL that Prometheus parses', () => {
      const dir = mkdtempSync(join(tmpdir(), 'lectern-dashboard-'))
      try {
        // Grafana's variables as a dashboard would fill them in.
        const expressions = dashboardExpressions().map(({ expr }) =>
          expr
            .replaceAll('$__rate_interval', '1m')
            .replaceAll('$__range', '3h')
            .replaceAll('$instance', '.*')
            .replaceAll('$job', 'lectern'),
        )
        const rules = expressions.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }))
        // JSON is YAML: promtool reads it as a rule file.
        writeFileSync(join(dir, 'dashboard.rules.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }))
        const { code, output } = promtool('check', 'rules', join(dir, 'dashboard.rules.yml'))
        assert.equal(code, 0, output)
        assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  test('a missing promtool skips with a notice outside CI and fails under CI=true', () => {
    const nowhere = { PATH: '/nonexistent', PROMTOOL_PATH: '' }
    assert.equal(findPromtool(nowhere), null)
    const notices: string[] = []
    const notify = (notice: string) => void notices.push(notice)
    assert.throws(() => promtoolMissing({ ...nowhere, CI: 'true' }, notify), /cannot be skipped in CI/)
    assert.match(String(promtoolMissing({ ...nowhere, CI: 'false' }, notify)), /promtool not found/)
    assert.equal(notices.length, 1)
    assert.match(notices[0]!, /\*\*\* SKIPPING the Prometheus rule tests/)
    // PROMTOOL_PATH alone is enough, PATH aside.
    const promtoolHere = findPromtool()
    if (promtoolHere !== null) assert.equal(promtoolMissing({ ...nowhere, PROMTOOL_PATH: promtoolHere }, notify), null)
  })
})
