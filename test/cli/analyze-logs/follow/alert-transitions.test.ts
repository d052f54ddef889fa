import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Alert } from '../../../../src/cli/analyze-logs/alerts.ts'
import { AlertTransitions, alertLine, resolvedLine } from '../../../../src/cli/analyze-logs/follow/alert-transitions.ts'

const errorRate = (value: number): Alert => ({ name: 'error_rate', value, threshold: 0.01 })
const p95 = (value: number): Alert => ({ name: 'p95_latency_ms', value, threshold: 1000 })

test('an alert is announced when it starts and when it ends, not again while it keeps firing', () => {
  const transitions = new AlertTransitions()
  const names = (alerts: Alert[]) => {
    const { started, resolved } = transitions.update(alerts)
    return { started: started.map((a) => a.name), resolved }
  }
  assert.deepEqual(names([]), { started: [], resolved: [] })
  assert.deepEqual(names([errorRate(0.2)]), { started: ['error_rate'], resolved: [] })
  assert.deepEqual(names([errorRate(0.3)]), { started: [], resolved: [] }, 'still firing, another value: silent')
  assert.deepEqual(names([errorRate(0.3), p95(1500)]), { started: ['p95_latency_ms'], resolved: [] })
  assert.deepEqual(names([p95(1200)]), { started: [], resolved: ['error_rate'] })
  assert.deepEqual(names([]), { started: [], resolved: ['p95_latency_ms'] })
  assert.deepEqual(names([]), { started: [], resolved: [] }, 'resolved once')
  assert.deepEqual(names([errorRate(0.05)]), { started: ['error_rate'], resolved: [] }, 'and may start again')
})

test('the lines: ALERT <name> <value> > <threshold> and RESOLVED <name>', () => {
  assert.equal(alertLine(errorRate(1 / 3)), 'ALERT error_rate 0.333333 > 0.01\n')
  assert.equal(alertLine(p95(1234.5)), 'ALERT p95_latency_ms 1234.5 > 1000\n')
  assert.equal(resolvedLine('error_rate'), 'RESOLVED error_rate\n')
})
