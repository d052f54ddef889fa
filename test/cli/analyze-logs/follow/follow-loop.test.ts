import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { parseAnalyzeArgs, type AnalyzeOptions } from '../../../../src/cli/analyze-logs/args.ts'
import { followLogs } from '../../../../src/cli/analyze-logs/follow/index.ts'
import { analyzeLogsCommand } from '../../../../src/cli/analyze-logs/index.ts'
import { requestCompleteLine } from '../../../support/log-lines.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lectern-follow-loop-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function options(argv: string[]): AnalyzeOptions {
  const parsed = parseAnalyzeArgs(argv)
  assert.equal(parsed.kind, 'run', JSON.stringify(parsed))
  return (parsed as { options: AnalyzeOptions }).options
}

function collector() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return { stream, text: () => text }
}

/**
 * Runs followLogs on a clock that only the fake sleep moves: each sleep advances it by what was
 * asked, then runs `onSleep` (which writes to the logs, or stops). No wall-clock waiting.
 */
async function follow(
  argv: string[],
  onSleep: (elapsedMs: number, nowMs: number, stop: () => void) => void,
  maxSleeps = 500,
) {
  const startMs = Date.now()
  let nowMs = startMs
  const controller = new AbortController()
  const stdout = collector()
  const stderr = collector()
  const sleeps: number[] = []
  const code = await followLogs(
    options(argv),
    { stdout: stdout.stream, stderr: stderr.stream },
    {
      nowMs: () => nowMs,
      sleep: async (ms) => {
        sleeps.push(ms)
        nowMs += ms
        if (sleeps.length >= maxSleeps) controller.abort()
        else onSleep(nowMs - startMs, nowMs, () => controller.abort())
      },
      stop: controller.signal,
    },
  )
  return { code, stdout: stdout.text(), stderr: stderr.text(), sleeps, startMs }
}

const log = () => join(dir, 'lectern.log')
const write = (atMs: number, status: number, count = 1) => {
  const line = `${requestCompleteLine({ at: new Date(atMs).toISOString(), status, durationMs: 5 })}\n`
  appendFileSync(log(), line.repeat(count))
}

describe('analyze-logs --follow: the report loop', () => {
  test('--json: a report a line every interval, ALERT once when it starts and RESOLVED when it ends (on stderr)', async () => {
    const result = await follow(
      ['--follow', '--json', '--interval', '5', '--last-minutes', '1', dir],
      (elapsedMs, nowMs, stop) => {
        if (elapsedMs === 1000) write(nowMs, 200, 10)
        if (elapsedMs === 6000) write(nowMs, 500, 5) // 5 of 15 fail: the error-rate alert starts
        if (elapsedMs === 20_000) write(nowMs, 200, 5)
        if (elapsedMs === 70_000) write(nowMs, 200, 20) // and the errors have left the one-minute window
        if (elapsedMs === 80_000) stop()
      },
    )
    assert.equal(result.code, 0)
    assert.ok(
      result.sleeps.every((ms) => ms > 0 && ms <= 1000),
      'polls at most a second apart',
    )
    const reports = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>)
    assert.equal(reports.length, 16, 'one at start, then every 5 s until the stop at 80 s')
    assert.deepEqual(Object.keys(reports[0] ?? {}), [
      'total_requests',
      'error_requests',
      'error_rate',
      'server_error_rate',
      'latency_ms',
      'top_errors',
      'security_events',
      'alerts',
      'skipped_lines',
      'window',
    ])
    assert.deepEqual(
      reports.map((r) => r.total_requests),
      // At 65 s the ten lines of 1 s have left the window; at 70 s the errors of 6 s too.
      [0, 10, 15, 15, 20, 20, 20, 20, 20, 20, 20, 20, 20, 10, 25, 25],
    )
    const at10s = reports[2]
    assert.equal(at10s?.error_requests, 5)
    assert.equal(new Date(at10s?.window.to).getTime() - new Date(at10s?.window.from).getTime(), 60_000)
    assert.deepEqual(at10s?.alerts, [{ name: 'error_rate', value: 1 / 3, threshold: 0.01 }])
    assert.equal(result.stderr, 'ALERT error_rate 0.333333 > 0.01\nRESOLVED error_rate\n')
  })

  test('text: reports and the ALERT/RESOLVED lines on standard output', async () => {
    const result = await follow(['--follow', log()], () => assert.fail('a missing file is not followed'))
    // The named file must exist at start: exit 2 and nothing followed.
    assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 2, stdout: '' })
    assert.match(result.stderr, /cannot read ".*lectern\.log": no such file or directory/)

    appendFileSync(log(), '')
    const followed = await follow(
      ['--follow', '--interval', '1', '--p95-threshold-ms', '100', log()],
      (elapsedMs, nowMs, stop) => {
        if (elapsedMs === 1000) write(nowMs, 200)
        if (elapsedMs === 2000) {
          const line = requestCompleteLine({ at: new Date(nowMs).toISOString(), status: 200, durationMs: 250 })
          appendFileSync(log(), `${line}\n`)
        }
        if (elapsedMs === 4000) stop()
      },
    )
    assert.equal(followed.code, 0)
    assert.equal(followed.stderr, '')
    const reports = followed.stdout.split(/\n(?=Window )/)
    assert.equal(reports.length, 4, 'at start, at 1 s, 2 s and 3 s')
    assert.match(reports[0] ?? '', /^Window +\S+ to \S+ \(both inclusive\)\nRequests +0\n/)
    assert.match(reports[1] ?? '', /\nRequests +1\n/)
    assert.match(
      reports[2] ?? '',
      /\nRequests +2\n[\s\S]*\nAlerts\n {2}ALERT p95 latency 250\.0 ms is above the threshold of 100\.0 ms\nALERT p95_latency_ms 250 > 100\n$/,
    )
    assert.doesNotMatch(reports[3] ?? '', /^ALERT/m, 'not repeated while it fires')
  })

  test('bad --follow usage is exit 2 with a message and the pointer to --help, before anything is read', async () => {
    for (const [argv, message] of [
      [['--follow'], /--follow reads log files and directories, not standard input/],
      [['--follow', '--interval', '0', dir], /--interval must be from 0\.1 to 3600 seconds, got "0"/],
      [['--interval', '2', dir], /--interval is used only with --follow/],
    ] as const) {
      const stdout = collector()
      const stderr = collector()
      const code = await analyzeLogsCommand([...argv], {
        stdin: Readable.from([]),
        stdout: stdout.stream,
        stderr: stderr.stream,
        now: () => new Date(),
        stderrIsTTY: false,
      })
      assert.equal(code, 2)
      assert.equal(stdout.text(), '')
      assert.match(stderr.text(), message)
      assert.match(stderr.text(), /^lectern analyze-logs: .*\nRun "lectern analyze-logs --help" for usage\.\n$/)
    }
  })

  test('a stop during the first read ends at once with exit 0 and no report', async () => {
    write(Date.now(), 200, 1000)
    const controller = new AbortController()
    controller.abort()
    const stdout = collector()
    const code = await followLogs(
      options(['--follow', dir]),
      { stdout: stdout.stream, stderr: collector().stream },
      { nowMs: () => Date.now(), sleep: () => Promise.reject(new Error('must not sleep')), stop: controller.signal },
    )
    assert.equal(code, 0)
    assert.equal(stdout.text(), '')
  })
})
