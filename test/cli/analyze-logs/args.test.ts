import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseAnalyzeArgs, type AnalyzeOptions } from '../../../src/cli/analyze-logs/args.ts'

function options(argv: string[]): AnalyzeOptions {
  const parsed = parseAnalyzeArgs(argv)
  assert.equal(parsed.kind, 'run', JSON.stringify(parsed))
  return (parsed as { options: AnalyzeOptions }).options
}

function usageError(argv: string[]): string {
  const parsed = parseAnalyzeArgs(argv)
  assert.equal(parsed.kind, 'usage-error', JSON.stringify(parsed))
  return (parsed as { message: string }).message
}

describe('analyze-logs options', () => {
  test('defaults: standard input, top 10, error rate 0.01, p95 1000 ms, no window, text', () => {
    assert.deepEqual(options([]), {
      inputs: [],
      lastMinutes: null,
      sinceMs: null,
      untilMs: null,
      json: false,
      topErrors: 10,
      errorRateThreshold: 0.01,
      p95ThresholdMs: 1000,
      follow: false,
      intervalSeconds: null,
      bucketMs: null,
      htmlFile: null,
    })
  })

  test('every option, as "--name value" or "--name=value", operands anywhere', () => {
    const parsed = options([
      'a.log',
      '--json',
      '--top',
      '3',
      '--error-rate-threshold=0.05',
      'dir',
      '--p95-threshold-ms',
      '250.5',
      '--since',
      '2026-11-23T10:00:00Z',
      '--until=2026-11-23T11:00:00.500+01:00',
      '-',
    ])
    assert.deepEqual(parsed, {
      inputs: ['a.log', 'dir', '-'],
      lastMinutes: null,
      sinceMs: Date.UTC(2026, 10, 23, 10),
      untilMs: Date.UTC(2026, 10, 23, 10, 0, 0, 500),
      json: true,
      topErrors: 3,
      errorRateThreshold: 0.05,
      p95ThresholdMs: 250.5,
      follow: false,
      intervalSeconds: null,
      bucketMs: null,
      htmlFile: null,
    })
    assert.equal(options(['--last-minutes', '15']).lastMinutes, 15)
    assert.deepEqual(options(['--', '--json']).inputs, ['--json'])
  })

  test('instants: date only is midnight UTC, no zone means UTC', () => {
    assert.equal(options(['--since', '2026-11-23']).sinceMs, Date.UTC(2026, 10, 23))
    assert.equal(options(['--since', '2026-11-23T10:15']).sinceMs, Date.UTC(2026, 10, 23, 10, 15))
    assert.equal(options(['--since', '2026-11-23 10:15:30']).sinceMs, Date.UTC(2026, 10, 23, 10, 15, 30))
  })

  test('--bucket takes the configuration’s durations: seconds, minutes, hours, days', () => {
    assert.equal(options(['--bucket', '1']).bucketMs, 1000)
    assert.equal(options(['--bucket', '90s']).bucketMs, 90_000)
    assert.equal(options(['--bucket=5m']).bucketMs, 300_000)
    assert.equal(options(['--bucket', '1h']).bucketMs, 3_600_000)
    assert.equal(options(['--bucket', '1d']).bucketMs, 86_400_000)
    for (const bad of ['0', '0m', '-5m', '1.5m', '5 minutes', '5w', '', 'm', '1e3'])
      assert.match(usageError(['--bucket', bad]), /--bucket needs a duration of at least 1s, such as 90s, 5m/, bad)
    assert.match(usageError(['--bucket']), /--bucket needs a value/)
    assert.equal(options(['--html', 'out/report.html']).htmlFile, 'out/report.html')
  })

  test('--help and -h', () => {
    assert.deepEqual(parseAnalyzeArgs(['--help']), { kind: 'help' })
    assert.deepEqual(parseAnalyzeArgs(['x.log', '-h']), { kind: 'help' })
  })

  test('mistakes are usage errors that say what is wrong', () => {
    assert.match(usageError(['--frobnicate']), /unknown option "--frobnicate"/)
    assert.match(usageError(['--top']), /--top needs a value/)
    assert.match(usageError(['--top', '-1']), /--top must be a whole number/)
    assert.match(usageError(['--top', '2.5']), /--top/)
    assert.match(usageError(['--last-minutes', '0']), /more than 0/)
    assert.match(usageError(['--last-minutes', 'ten']), /non-negative number/)
    assert.match(usageError(['--error-rate-threshold', '5']), /fraction from 0 to 1/)
    assert.match(usageError(['--error-rate-threshold', '']), /non-negative number/)
    assert.match(usageError(['--p95-threshold-ms', 'Infinity']), /non-negative number/)
    assert.match(usageError(['--since', 'yesterday']), /ISO 8601/)
    assert.match(usageError(['--since', '2026-02-30']), /ISO 8601/)
    assert.match(usageError(['--since', '2026-11-23T11:00Z', '--until', '2026-11-23T10:00Z']), /after --until/)
    assert.match(usageError(['--last-minutes', '5', '--since', '2026-11-23']), /cannot be combined/)
    assert.match(usageError(['-', '-']), /only once/)
    assert.match(usageError(['--json=yes']), /takes no value/)
  })
})
