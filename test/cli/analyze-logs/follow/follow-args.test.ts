import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseAnalyzeArgs, type AnalyzeOptions } from '../../../../src/cli/analyze-logs/args.ts'

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

describe('analyze-logs --follow options', () => {
  test('--follow with files and directories, --interval and --last-minutes', () => {
    const parsed = options(['--follow', 'a.log', 'logs/', '--interval', '0.5', '--last-minutes=2', '--json'])
    assert.equal(parsed.follow, true)
    assert.equal(parsed.intervalSeconds, 0.5)
    assert.equal(parsed.lastMinutes, 2)
    assert.deepEqual(parsed.inputs, ['a.log', 'logs/'])
    assert.equal(options(['--follow', 'a.log']).intervalSeconds, null, 'the default (5 s) is applied by --follow')
  })

  test('--interval bounds: 0.1 to 3600 seconds, both ends allowed', () => {
    assert.equal(options(['--follow', '--interval', '0.1', 'a.log']).intervalSeconds, 0.1)
    assert.equal(options(['--follow', '--interval', '3600', 'a.log']).intervalSeconds, 3600)
    for (const value of ['0.09', '0', '3600.5', '1e9']) {
      assert.match(
        usageError(['--follow', '--interval', value, 'a.log']),
        /--interval must be from 0\.1 to 3600 seconds/,
      )
    }
    for (const value of ['-1', 'soon', '', 'Infinity', '0x10']) {
      assert.match(usageError(['--follow', `--interval=${value}`, 'a.log']), /--interval needs a non-negative number/)
    }
    assert.match(usageError(['--follow', 'a.log', '--interval']), /--interval needs a value/)
  })

  test('--interval without --follow, --follow with standard input or with --since/--until are refused', () => {
    assert.match(usageError(['--interval', '1', 'a.log']), /--interval is used only with --follow/)
    assert.match(usageError(['--follow']), /not standard input: name the file or directory/)
    assert.match(usageError(['--follow', 'a.log', '-']), /not standard input/)
    assert.match(
      usageError(['--follow', '--since', '2026-11-23', 'a.log']),
      /cannot be combined with --since or --until/,
    )
    assert.match(usageError(['--follow', '--until', '2026-11-23', 'a.log']), /cannot be combined/)
    assert.match(usageError(['--follow=yes', 'a.log']), /takes no value/)
  })
})
