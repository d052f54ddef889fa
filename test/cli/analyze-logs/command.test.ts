import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { analyzeLogsCommand } from '../../../src/cli/analyze-logs/index.ts'
import { buildTestApp } from '../../support/app.ts'
import { eventLine, logText, requestCompleteLine, requestReceivedLine } from '../../support/log-lines.ts'

interface RunOptions {
  stdin?: string | Buffer | Buffer[]
  now?: () => Date
  stderrIsTTY?: boolean
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

async function run(argv: string[], opts: RunOptions = {}) {
  const stdout = collector()
  const stderr = collector()
  const chunks = opts.stdin === undefined ? [] : Array.isArray(opts.stdin) ? opts.stdin : [Buffer.from(opts.stdin)]
  const code = await analyzeLogsCommand(argv, {
    stdin: Readable.from(chunks),
    stdout: stdout.stream,
    stderr: stderr.stream,
    now: opts.now ?? (() => new Date('2026-11-23T12:00:00.000Z')),
    stderrIsTTY: opts.stderrIsTTY ?? false,
  })
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

async function runJson(argv: string[], opts: RunOptions = {}) {
  const result = await run(['--json', ...argv], opts)
  assert.equal(result.stderr, '')
  return { code: result.code, report: JSON.parse(result.stdout) as Record<string, any> }
}

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, second)).toISOString()

/**
 * A log whose answers are known: 20 requests taking 1..20 ms, of which 2 × 404 on /a,
 * 1 × 500 and 1 × 503 on /b; 6 security events; 4 unusable lines; blank lines and
 * events that are not counted.
 */
function knownLog(): string[] {
  const lines: string[] = []
  for (let i = 1; i <= 20; i++) {
    lines.push(requestReceivedLine(at(i)))
    const status = i === 3 || i === 7 ? 404 : i === 11 ? 500 : i === 15 ? 503 : 200
    const path = status === 404 ? '/a' : status >= 500 ? '/b' : '/ok'
    const message =
      status === 404
        ? 'Not found'
        : status === 500
          ? 'Internal server error'
          : status === 503
            ? 'Database unavailable'
            : null
    lines.push(requestCompleteLine({ at: at(i), status, durationMs: i, path, message }))
  }
  lines.push(eventLine('auth_failure', at(21)), eventLine('auth_failure', at(22)), eventLine('auth_failure', at(23)))
  lines.push(eventLine('csrf_violation', at(24)), eventLine('rate_limited', at(25)), eventLine('rate_limited', at(26)))
  lines.push(eventLine('server_started', at(27)), eventLine('unhandled_error', at(28)))
  lines.push('not json at all', requestCompleteLine({ at: at(29) }).slice(0, 60), '[1,2,3]')
  lines.push(JSON.stringify({ timestamp: at(30), event: 'request_complete', status_code: 200 })) // no duration_ms
  lines.push('', '   ')
  return lines
}

const NO_SECURITY_EVENTS = {
  auth_success: 0,
  auth_failure: 0,
  logout: 0,
  csrf_violation: 0,
  rate_limited: 0,
  upload_rejected: 0,
  permission_denied: 0,
  admin_action: 0,
  password_changed: 0,
  password_reset_requested: 0,
  password_reset: 0,
  email_verification_requested: 0,
  email_verified: 0,
  content_rejected: 0,
  passkey_added: 0,
  passkey_removed: 0,
  passkey_failure: 0,
  media_uploaded: 0,
  invitation_accepted: 0,
  invitation_rejected: 0,
  two_factor_enabled: 0,
  two_factor_disabled: 0,
  two_factor_failure: 0,
  recovery_code_used: 0,
}

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-analyze-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function logFile(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name)
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, content)
  return path
}

describe('analyze-logs: the figures (CONTRACT §8)', () => {
  test('--json prints exactly the contract’s keys with the known answers', async () => {
    const file = await logFile('known.log', logText(knownLog()))
    const { code, report } = await runJson(['--error-rate-threshold', '0.5', '--p95-threshold-ms', '100', file])
    assert.equal(code, 0)
    assert.deepEqual(report, {
      total_requests: 20,
      error_requests: 4,
      error_rate: 0.2,
      server_error_rate: 0.1,
      latency_ms: { p50: 10, p95: 19, p99: 20, max: 20 },
      top_errors: [
        { path: '/a', error: 'Not found', count: 2 },
        { path: '/b', error: 'Database unavailable', count: 1 },
        { path: '/b', error: 'Internal server error', count: 1 },
      ],
      security_events: { ...NO_SECURITY_EVENTS, auth_failure: 3, csrf_violation: 1, rate_limited: 2 },
      alerts: [],
      skipped_lines: 4,
      window: { from: null, to: null },
    })
    assert.deepEqual(Object.keys(report), [
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
  })

  test('no request at all: zero rates, null latencies, no alert', async () => {
    const { code, report } = await runJson([], { stdin: logText([eventLine('logout', at(1)), 'junk']) })
    assert.equal(code, 0)
    assert.equal(report.total_requests, 0)
    assert.equal(report.error_rate, 0)
    assert.deepEqual(report.latency_ms, { p50: null, p95: null, p99: null, max: null })
    assert.equal(report.security_events.logout, 1)
    assert.equal(report.skipped_lines, 1)
  })

  test('--top K keeps the K most frequent; ties are listed by path, then message', async () => {
    const lines = [
      ...Array.from({ length: 3 }, (_, i) =>
        requestCompleteLine({ at: at(i), status: 404, path: '/z', message: 'Not found' }),
      ),
      ...Array.from({ length: 2 }, (_, i) =>
        requestCompleteLine({ at: at(i), status: 403, path: '/m', message: 'CSRF token missing' }),
      ),
      ...Array.from({ length: 2 }, (_, i) =>
        requestCompleteLine({ at: at(i), status: 403, path: '/m', message: 'CSRF token expired' }),
      ),
      ...Array.from({ length: 2 }, (_, i) =>
        requestCompleteLine({ at: at(i), status: 401, path: '/b', message: 'Invalid username or password' }),
      ),
      requestCompleteLine({ at: at(9), status: 500, path: '/a', message: 'Internal server error' }),
    ]
    const { report } = await runJson(['--top', '4'], { stdin: logText(lines) })
    assert.deepEqual(report.top_errors, [
      { path: '/z', error: 'Not found', count: 3 },
      { path: '/b', error: 'Invalid username or password', count: 2 },
      { path: '/m', error: 'CSRF token expired', count: 2 },
      { path: '/m', error: 'CSRF token missing', count: 2 },
    ])
    assert.deepEqual((await runJson(['--top', '0'], { stdin: logText(lines) })).report.top_errors, [])
    const defaults = await runJson([], { stdin: logText(lines) })
    assert.equal(defaults.report.top_errors.length, 5)
  })

  test('an error without a message, or without a path, is grouped under null', async () => {
    const lines = [
      requestCompleteLine({ at: at(1), status: 400, path: '/x', message: null }),
      JSON.stringify({
        timestamp: at(2),
        event: 'request_complete',
        status_code: 502,
        duration_ms: 1,
        error: { message: 'Bad gateway' },
      }),
    ]
    const { report } = await runJson([], { stdin: logText(lines) })
    assert.deepEqual(report.top_errors, [
      { path: null, error: 'Bad gateway', count: 1 },
      { path: '/x', error: null, count: 1 },
    ])
  })

  test('only request_complete counts as a request; other events with a status do not', async () => {
    const lines = [
      requestCompleteLine({ at: at(1), status: 200 }),
      JSON.stringify({ timestamp: at(2), event: 'unhandled_error', status_code: 500, duration_ms: 9999 }),
      JSON.stringify({ timestamp: at(3), event: 'request_received', status_code: 500, duration_ms: 9999 }),
    ]
    const { report } = await runJson([], { stdin: logText(lines) })
    assert.equal(report.total_requests, 1)
    assert.equal(report.error_requests, 0)
    assert.equal(report.latency_ms.max, 10)
  })

  test('lines the analyzer cannot use are counted, never fatal', async () => {
    const lines = [
      requestCompleteLine({ at: at(1) }),
      '\u0000\u0001 binary junk \u00ff',
      '{"timestamp":"2026-11-23T10:00:02.000Z","event":"request_complete","status_code":200,"duration_ms":1', // cut short
      JSON.stringify({ event: 'request_complete', status_code: 200, duration_ms: 1 }), // no timestamp
      JSON.stringify({ timestamp: 'yesterday', event: 'request_complete', status_code: 200, duration_ms: 1 }),
      JSON.stringify({ timestamp: at(3), status_code: 200, duration_ms: 1 }), // no event
      JSON.stringify({ timestamp: at(4), event: 'request_complete', status_code: '200', duration_ms: 1 }),
      JSON.stringify({ timestamp: at(5), event: 'request_complete', status_code: 200.5, duration_ms: 1 }),
      JSON.stringify({ timestamp: at(6), event: 'request_complete', status_code: 200, duration_ms: -1 }),
      '{"timestamp":"2026-11-23T10:00:07.000Z","event":"request_complete","status_code":200,"duration_ms":1e999}',
      'null',
    ]
    const { code, report } = await runJson([], { stdin: logText(lines) })
    assert.equal(code, 0)
    assert.equal(report.total_requests, 1)
    assert.equal(report.skipped_lines, 10)
  })

  test('a line longer than 1 MiB is skipped, and the lines around it are read', async () => {
    const huge = JSON.stringify({
      timestamp: at(2),
      event: 'request_complete',
      status_code: 200,
      duration_ms: 1,
      extra: { blob: 'x'.repeat(1_100_000) },
    })
    const file = await logFile(
      'huge.log',
      logText([requestCompleteLine({ at: at(1) }), huge, requestCompleteLine({ at: at(3) })]),
    )
    const { report } = await runJson([file])
    assert.equal(report.total_requests, 2)
    assert.equal(report.skipped_lines, 1)
  })

  test('the fast reading gives the same figures as a plain JSON.parse of every line', async () => {
    const lines: string[] = []
    const messages = [
      'Not found',
      'He said "no"',
      'naïve café 😀',
      'back\\slash',
      'tab\tinside',
      'Rate limit exceeded. Try again in 5 seconds.',
    ]
    for (let i = 0; i < 3000; i++) {
      const status = [200, 200, 200, 201, 304, 400, 401, 403, 404, 429, 500, 503][i % 12] as number
      const line = requestCompleteLine({
        at: at(i % 60),
        status,
        durationMs: ((i * 7919) % 1000) / 8,
        path: `/p/${i % 7}/é`,
        message: status >= 400 ? (messages[i % messages.length] as string) : null,
      })
      // Some lines reordered and spaced out; some broken.
      if (i % 97 === 0) lines.push(JSON.stringify(JSON.parse(line), null, 1).replace(/\n/g, ' '))
      else if (i % 89 === 0) lines.push(line.slice(0, -2))
      else lines.push(line)
      if (i % 50 === 0) lines.push(eventLine(['auth_failure', 'csrf_violation', 'logout'][i % 3] as string, at(i % 60)))
    }
    const text = logText(lines)
    const fast = (await runJson(['--top', '20'], { stdin: text })).report
    assert.deepEqual(fast, naiveAnalysis(text, 20))
    assert.ok(fast.skipped_lines > 0 && fast.total_requests > 2900)
  })
})

describe('analyze-logs: the lines the server writes', () => {
  test('request lines with trace_id (CONTRACT §7) are read and counted like any other', async () => {
    const t = await buildTestApp()
    let lines: string[]
    try {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      for (let i = 0; i < 3; i++) await t.app.inject({ method: 'GET', url: '/healthz', headers: { traceparent } })
      await t.app.inject({ method: 'GET', url: '/api/no-such-thing' }) // 404
      await t.app.inject({ method: 'POST', url: '/api/logout', headers: { traceparent } }) // 403, csrf_violation
      lines = t.logs().map((record) => JSON.stringify(record))
    } finally {
      await t.close()
    }
    const requestLines = lines.filter((line) => line.includes('"request_id"'))
    assert.equal(requestLines.length, 11)
    for (const line of requestLines) assert.match(line, /"trace_id":"[0-9a-f]{32}"/)
    const text = logText(lines)
    const { report } = await runJson(['--top', '5'], { stdin: text })
    assert.deepEqual(
      [report.total_requests, report.error_requests, report.skipped_lines, report.security_events.csrf_violation],
      [5, 2, 0, 1],
    )
    assert.deepEqual(report.top_errors.map((e: { path: string; count: number }) => [e.path, e.count]).sort(), [
      ['/api/logout', 1],
      ['/api/no-such-thing', 1],
    ])
    assert.deepEqual(report, naiveAnalysis(text, 5))
  })
})

/** The figures computed the obvious way, for comparison: JSON.parse, arrays, sort. */
function naiveAnalysis(text: string, top: number) {
  let skipped = 0
  const durations: number[] = []
  let errors = 0
  let serverErrors = 0
  const groups = new Map<string, { path: string | null; error: string | null; count: number }>()
  const security: Record<string, number> = { ...NO_SECURITY_EVENTS }
  for (const line of text.split('\n').slice(0, -1)) {
    if (/^[ \t\r]*$/.test(line)) continue
    let entry: any
    try {
      entry = JSON.parse(line)
    } catch {
      skipped++
      continue
    }
    if (
      typeof entry !== 'object' ||
      entry === null ||
      Array.isArray(entry) ||
      typeof entry.timestamp !== 'string' ||
      typeof entry.event !== 'string' ||
      !/Z$/.test(entry.timestamp)
    ) {
      skipped++
      continue
    }
    if (Object.hasOwn(security, entry.event)) security[entry.event] = (security[entry.event] ?? 0) + 1
    if (entry.event !== 'request_complete') continue
    if (
      !Number.isInteger(entry.status_code) ||
      typeof entry.duration_ms !== 'number' ||
      !Number.isFinite(entry.duration_ms) ||
      entry.duration_ms < 0
    ) {
      skipped++
      continue
    }
    durations.push(entry.duration_ms)
    if (entry.status_code >= 400) {
      errors++
      if (entry.status_code >= 500) serverErrors++
      const path = typeof entry.path === 'string' ? entry.path : null
      const error = typeof entry.error?.message === 'string' ? entry.error.message : null
      const key = JSON.stringify([path, error])
      const group = groups.get(key) ?? { path, error, count: 0 }
      group.count++
      groups.set(key, group)
    }
  }
  durations.sort((a, b) => a - b)
  const rank = (p: number) => durations[Math.ceil((p / 100) * durations.length) - 1]
  const compare = (a: string | null, b: string | null) =>
    a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1
  return {
    total_requests: durations.length,
    error_requests: errors,
    error_rate: errors / durations.length,
    server_error_rate: serverErrors / durations.length,
    latency_ms: { p50: rank(50), p95: rank(95), p99: rank(99), max: durations[durations.length - 1] },
    top_errors: [...groups.values()]
      .sort((a, b) => b.count - a.count || compare(a.path, b.path) || compare(a.error, b.error))
      .slice(0, top),
    security_events: security,
    alerts: [
      { name: 'error_rate', value: errors / durations.length, threshold: 0.01 },
      ...(rank(95)! > 1000 ? [{ name: 'p95_latency_ms' }] : []),
    ],
    skipped_lines: skipped,
    window: { from: null, to: null },
  }
}

describe('analyze-logs: the time window', () => {
  const lines = [
    requestCompleteLine({ at: '2026-11-23T09:59:59.999Z', durationMs: 1 }),
    requestCompleteLine({ at: '2026-11-23T10:00:00.000Z', durationMs: 2 }),
    requestCompleteLine({ at: '2026-11-23T10:30:00.000Z', durationMs: 3 }),
    requestCompleteLine({ at: '2026-11-23T11:00:00.000Z', durationMs: 4 }),
    requestCompleteLine({ at: '2026-11-23T11:00:00.001Z', durationMs: 5 }),
    eventLine('auth_failure', '2026-11-23T09:59:59.999Z'),
    eventLine('auth_failure', '2026-11-23T10:00:00.000Z'),
    eventLine('auth_failure', '2026-11-23T11:00:00.001Z'),
  ]

  test('--since and --until are both inclusive: a line exactly at either edge counts', async () => {
    const { report } = await runJson(['--since', '2026-11-23T10:00:00Z', '--until', '2026-11-23T11:00:00Z'], {
      stdin: logText(lines),
    })
    assert.equal(report.total_requests, 3)
    assert.deepEqual(report.latency_ms, { p50: 3, p95: 4, p99: 4, max: 4 })
    assert.equal(report.security_events.auth_failure, 1)
    assert.deepEqual(report.window, { from: '2026-11-23T10:00:00.000Z', to: '2026-11-23T11:00:00.000Z' })
  })

  test('a bound on one side only; the other side is null', async () => {
    const since = await runJson(['--since', '2026-11-23T11:00:00.001Z'], { stdin: logText(lines) })
    assert.equal(since.report.total_requests, 1)
    assert.deepEqual(since.report.window, { from: '2026-11-23T11:00:00.001Z', to: null })
    const until = await runJson(['--until', '2026-11-23T09:59:59.999Z'], { stdin: logText(lines) })
    assert.equal(until.report.total_requests, 1)
    assert.deepEqual(until.report.window, { from: null, to: '2026-11-23T09:59:59.999Z' })
  })

  test('--last-minutes N is [now − N min, now], with now from the injected clock', async () => {
    const now = () => new Date('2026-11-23T11:00:00.000Z')
    const { report } = await runJson(['--last-minutes', '60'], { stdin: logText(lines), now })
    // 10:00:00.000 is exactly 60 minutes before now: in. 11:00:00.001 is after now: out.
    assert.equal(report.total_requests, 3)
    assert.deepEqual(report.window, { from: '2026-11-23T10:00:00.000Z', to: '2026-11-23T11:00:00.000Z' })
    const later = await runJson(['--last-minutes', '1'], {
      stdin: logText(lines),
      now: () => new Date('2026-11-24T00:00:00.000Z'),
    })
    assert.equal(later.report.total_requests, 0)
  })

  test('unusable lines are counted whatever the window', async () => {
    const { report } = await runJson(['--since', '2030-01-01'], { stdin: logText([...lines, 'junk']) })
    assert.equal(report.total_requests, 0)
    assert.equal(report.skipped_lines, 1)
  })
})

describe('analyze-logs: inputs', () => {
  const part = (from: number, count: number) =>
    logText(Array.from({ length: count }, (_, i) => requestCompleteLine({ at: at(from + i), status: 200 })))

  test('a gzip-compressed file, and several files at once', async () => {
    const plain = await logFile('inputs/a.log', part(0, 3))
    const gz = await logFile('inputs/b.log.gz', gzipSync(part(3, 4)))
    assert.equal((await runJson([gz])).report.total_requests, 4)
    assert.equal((await runJson([plain, gz])).report.total_requests, 7)
    // The same file named twice is read once.
    assert.equal((await runJson([plain, plain])).report.total_requests, 3)
  })

  test('a directory: the live file and its rotated siblings, plain and gz; other files ignored', async () => {
    await logFile('rotated/lectern.log', part(0, 1))
    await logFile('rotated/lectern.2026-11-22.log', part(0, 2))
    await logFile('rotated/lectern.2026-11-22.1.log', part(0, 4))
    await logFile('rotated/lectern.2026-11-20.log.gz', gzipSync(part(0, 8)))
    await logFile('rotated/notes.txt', 'not a log\n')
    await logFile('rotated/lectern.log.tmp', 'junk\n')
    await mkdir(join(dir, 'rotated', 'sub.log'), { recursive: true })
    const { report } = await runJson([join(dir, 'rotated')])
    assert.equal(report.total_requests, 15)
    assert.equal(report.skipped_lines, 0)
  })

  test('a directory with the rotated names of other tools, each plain and gz; backups and others ignored', async () => {
    // A distinct count per file, so a file missed or read twice shows in the total.
    const files: Array<[string, number]> = [
      ['lectern.log', 1],
      ['lectern.log.1', 2],
      ['lectern.log.2.gz', 4],
      ['lectern.log-20261123', 8],
      ['lectern.log-20261122.gz', 16],
      ['lectern.log.2026-11-23', 32],
      ['lectern.log.2026-11-22.gz', 64],
    ]
    for (const [name, count] of files)
      await logFile(`others/${name}`, name.endsWith('.gz') ? gzipSync(part(0, count)) : part(0, count))
    await logFile('others/lectern.log.bak', part(0, 128))
    await logFile('others/lectern.log.1.bak', part(0, 128))
    await logFile('others/other.txt', part(0, 128))
    const { report } = await runJson([join(dir, 'others')])
    assert.equal(report.total_requests, 127)
    assert.equal(report.skipped_lines, 0)
  })

  test('standard input: the default, or "-", plain or gzip-compressed, in any chunking', async () => {
    const text = part(0, 5)
    assert.equal((await runJson([], { stdin: text })).report.total_requests, 5)
    assert.equal((await runJson(['-'], { stdin: text })).report.total_requests, 5)
    const gz = gzipSync(text)
    const oneByteChunks = Array.from(gz, (byte) => Buffer.from([byte]))
    assert.equal((await runJson([], { stdin: oneByteChunks })).report.total_requests, 5)
    const file = await logFile('inputs/c.log', part(0, 2))
    assert.equal((await runJson([file, '-'], { stdin: text })).report.total_requests, 7)
  })

  test('a missing file is exit 2 with a message naming it, and no report', async () => {
    const missing = join(dir, 'nope.log')
    const { code, stdout, stderr } = await run([missing])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, new RegExp(`cannot read ".*nope\\.log": no such file or directory`))
  })

  test('a file that cannot be read is exit 2 with the reason', async () => {
    // Root may read any file whatever its mode, so as root the unreadable input is one whose
    // read fails in the kernel instead.
    if (process.getuid?.() === 0) {
      const { code, stderr } = await run(['/proc/self/mem'])
      assert.equal(code, 2)
      assert.match(stderr, /cannot read "\/proc\/self\/mem": EIO/)
      return
    }
    const locked = await logFile('inputs/locked.log', part(0, 1))
    await chmod(locked, 0o000)
    const { code, stderr } = await run([locked])
    assert.equal(code, 2)
    assert.match(stderr, /locked\.log": permission denied/)
  })

  test('a missing file is reported before any other input is read', async () => {
    const present = await logFile('inputs/d.log', part(0, 1))
    const { code, stderr } = await run([present, join(dir, 'missing.log')])
    assert.equal(code, 2)
    assert.match(stderr, /missing\.log/)
  })

  test('a corrupt or truncated .gz, or a .gz that is not gzip, is exit 2', async () => {
    const gz = gzipSync(part(0, 50))
    for (const [name, content] of [
      ['truncated.log.gz', gz.subarray(0, gz.length - 20)],
      ['corrupt.log.gz', Buffer.concat([gz.subarray(0, 10), Buffer.alloc(40, 0x55), gz.subarray(50)])],
      ['fake.log.gz', Buffer.from(part(0, 1))],
    ] as const) {
      const { code, stdout, stderr } = await run([await logFile(`inputs/${name}`, content)])
      assert.equal(code, 2, name)
      assert.equal(stdout, '')
      assert.match(stderr, new RegExp(`cannot read ".*${name.replace(/\./g, '\\.')}"`))
    }
  })

  test('a directory without log files is exit 2', async () => {
    await mkdir(join(dir, 'empty'), { recursive: true })
    const { code, stderr } = await run([join(dir, 'empty')])
    assert.equal(code, 2)
    assert.match(stderr, /no log files/)
  })
})

describe('analyze-logs: --bucket, the timeline (CONTRACT §13)', () => {
  const window = ['--since', '2026-11-23T10:00:00Z', '--until', '2026-11-23T10:00:30Z']
  const bucket = (from: number, to: number, rest: Record<string, unknown>) => ({
    from: at(from),
    to: at(to),
    ...rest,
  })

  test('one entry a bucket, cut to the window, with exact nearest-rank percentiles per bucket', async () => {
    const file = await logFile('timeline/known.log', logText(knownLog()))
    const { report } = await runJson(['--bucket', '10s', ...window, file])
    // Seconds 1–9 (durations 1–9, 404s at 3 and 7), 10–19 (500 at 11, 503 at 15), then 20 alone:
    // the window's end (10:00:30) is a bucket boundary, so it closes the third bucket.
    assert.deepEqual(report.timeline, [
      bucket(0, 10, { requests: 9, errors: 2, server_errors: 0, p50: 5, p95: 9, p99: 9 }),
      bucket(10, 20, { requests: 10, errors: 2, server_errors: 2, p50: 14, p95: 19, p99: 19 }),
      bucket(20, 30, { requests: 1, errors: 0, server_errors: 0, p50: 20, p95: 20, p99: 20 }),
    ])
    assert.equal(Object.keys(report).at(-1), 'timeline')
    assert.equal(report.total_requests, 20) // the global figures are unchanged by --bucket
  })

  test('buckets are aligned on the clock; empty ones are listed with zeros and null percentiles', async () => {
    const lines = [
      requestCompleteLine({ at: at(5), durationMs: 7 }),
      requestCompleteLine({ at: at(35), durationMs: 3, status: 503 }),
    ]
    const { report } = await runJson(
      ['--bucket', '10s', '--since', '2026-11-23T10:00:04Z', '--until', '2026-11-23T10:00:41.5Z'],
      { stdin: logText(lines) },
    )
    const empty = { requests: 0, errors: 0, server_errors: 0, p50: null, p95: null, p99: null }
    assert.deepEqual(report.timeline, [
      bucket(4, 10, { requests: 1, errors: 0, server_errors: 0, p50: 7, p95: 7, p99: 7 }),
      bucket(10, 20, empty),
      bucket(20, 30, empty),
      bucket(30, 40, { requests: 1, errors: 1, server_errors: 1, p50: 3, p95: 3, p99: 3 }),
      { ...bucket(40, 40, empty), to: '2026-11-23T10:00:41.500Z' },
    ])
  })

  test('a line exactly at a bounded end on a bucket boundary is in the last bucket, not a bucket of its own', async () => {
    const lines = [requestCompleteLine({ at: at(10), durationMs: 4 })]
    const { report } = await runJson(['--bucket', '10s', '--since', at(0), '--until', at(10)], {
      stdin: logText(lines),
    })
    assert.deepEqual(report.timeline, [
      bucket(0, 10, { requests: 1, errors: 0, server_errors: 0, p50: 4, p95: 4, p99: 4 }),
    ])
  })

  test('an unbounded window runs from the first to the last counted line’s bucket; none at all is []', async () => {
    const lines = [requestCompleteLine({ at: at(12) }), eventLine('auth_failure', at(31))]
    const { report } = await runJson(['--bucket', '10s'], { stdin: logText(lines) })
    assert.deepEqual(
      report.timeline.map((e: { from: string; to: string; requests: number }) => [e.from, e.to, e.requests]),
      [
        [at(10), at(20), 1],
        [at(20), at(30), 0],
        [at(30), at(40), 0],
      ],
    )
    const none = await runJson(['--bucket', '10s'], { stdin: '' })
    assert.deepEqual(none.report.timeline, [])
    const without = await runJson([], { stdin: logText(lines) })
    assert.equal('timeline' in without.report, false)
  })

  test('at most 10,000 buckets: a bounded window is refused before reading, an unbounded one once seen', async () => {
    const file = await logFile('timeline/two.log', logText([requestCompleteLine({ at: at(0) })]))
    const since = '2026-11-23T10:00:00Z'
    const ok = await runJson(['--bucket', '1s', '--since', since, '--until', '2026-11-23T12:46:40Z', file])
    assert.equal(ok.report.timeline.length, 10_000)
    const refused = await run(['--json', '--bucket', '1s', '--since', since, '--until', '2026-11-23T12:46:41Z', file])
    assert.equal(refused.code, 2)
    assert.equal(refused.stdout, '')
    assert.match(refused.stderr, /--bucket 1s cuts the window into more than 10,000 buckets: choose a longer bucket/)
    // No bound: only the lines tell how long the window is.
    const spread = [requestCompleteLine({ at: at(0) }), requestCompleteLine({ at: '2026-11-23T12:46:39.999Z' })]
    assert.equal((await runJson(['--bucket', '1s'], { stdin: logText(spread) })).report.timeline.length, 10_000)
    spread.push(requestCompleteLine({ at: '2026-11-23T12:46:40.000Z' }))
    const tooLong = await run(['--bucket', '1s'], { stdin: logText(spread) })
    assert.equal(tooLong.code, 2)
    assert.equal(tooLong.stdout, '')
    assert.match(tooLong.stderr, /more than 10,000 buckets/)
  })

  test('the readable report has a timeline section', async () => {
    const file = await logFile('timeline/text.log', logText(knownLog()))
    const { stdout } = await run(['--bucket', '10s', ...window, file])
    assert.match(stdout, /\nTimeline \(10s buckets\)\n/)
    assert.match(stdout, /2026-11-23T10:00:10\.000Z\s+10\s+2\s+20\.00 %\s+2\s+14\.0 ms\s+19\.0 ms\s+19\.0 ms/)
    const empty = await run(['--bucket', '10s'], { stdin: '' })
    assert.match(empty.stdout, /Timeline \(10s buckets\)  no lines in the window/)
  })
})

describe('analyze-logs: alerts and exit status', () => {
  // 100 requests, 1 of them an error (rate 0.01), p95 = 95 ms.
  const lines = Array.from({ length: 100 }, (_, i) =>
    requestCompleteLine({ at: at(i % 60), status: i === 0 ? 500 : 200, durationMs: i + 1 }),
  )
  const stdin = logText(lines)

  test('thresholds exactly reached do not fire: exit 0', async () => {
    const { code, report } = await runJson(['--error-rate-threshold', '0.01', '--p95-threshold-ms', '95'], { stdin })
    assert.equal(code, 0)
    assert.deepEqual(report.alerts, [])
  })

  test('the default thresholds (1%, 1000 ms) are not crossed here', async () => {
    assert.equal((await runJson([], { stdin })).code, 0)
  })

  test('error rate above R: exit 1 with the alert', async () => {
    const { code, report } = await runJson(['--error-rate-threshold', '0.009'], { stdin })
    assert.equal(code, 1)
    assert.deepEqual(report.alerts, [{ name: 'error_rate', value: 0.01, threshold: 0.009 }])
  })

  test('p95 above MS: exit 1 with the alert; both at once', async () => {
    const p95 = await runJson(['--p95-threshold-ms', '94.9'], { stdin })
    assert.equal(p95.code, 1)
    assert.deepEqual(p95.report.alerts, [{ name: 'p95_latency_ms', value: 95, threshold: 94.9 }])
    const both = await runJson(['--p95-threshold-ms', '50', '--error-rate-threshold', '0'], { stdin })
    assert.deepEqual(
      both.report.alerts.map((a: { name: string }) => a.name),
      ['error_rate', 'p95_latency_ms'],
    )
  })

  test('usage errors are exit 2 with the reason and a pointer to --help', async () => {
    const { code, stdout, stderr } = await run(['--top', 'many'])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /--top must be a whole number/)
    assert.match(stderr, /--help/)
  })

  test('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await run(['--help'])
    assert.equal(code, 0)
    assert.match(stdout, /^Usage: lectern analyze-logs/)
    for (const option of [
      '--last-minutes',
      '--since',
      '--until',
      '--json',
      '--error-rate-threshold',
      '--p95-threshold-ms',
      '--top',
    ])
      assert.ok(stdout.includes(option), option)
  })
})

describe('analyze-logs: the readable report', () => {
  test('every figure with its unit, aligned, alerts spelled out', async () => {
    const file = await logFile('report.log', logText(knownLog()))
    const { code, stdout, stderr } = await run(['--p95-threshold-ms', '100', file])
    assert.equal(code, 1) // error rate 20% is above the default 1%
    assert.equal(stderr, '')
    assert.match(stdout, /^Window {10}all lines/m)
    assert.match(stdout, /^Requests {8}20$/m)
    assert.match(stdout, /^Errors {10} 4 {2}20\.00 %/m)
    assert.match(stdout, /^Server errors {3} 2 {2}10\.00 %/m)
    assert.match(stdout, /^Skipped lines {3} 4  \(not JSON/m)
    assert.match(stdout, /p50 +p95 +p99 +max/)
    assert.match(stdout, /10\.0 ms +19\.0 ms +20\.0 ms +20\.0 ms/)
    assert.match(stdout, /^ {2}count {2}path {2}error$/m)
    assert.match(stdout, /^ {6}2 {2}\/a {4}Not found$/m)
    assert.match(stdout, /^ {2}auth_failure {4}3$/m)
    assert.match(stdout, /ALERT error rate 20\.00 % is above the threshold of 1\.00 %/)
    assert.doesNotMatch(stdout, /ALERT p95/)
  })

  test('no alert says so, with the thresholds', async () => {
    const { code, stdout } = await run([], { stdin: logText([requestCompleteLine({ at: at(1) })]) })
    assert.equal(code, 0)
    assert.match(stdout, /^Alerts +none \(error rate ≤ 1\.00 %, p95 ≤ 1,000 ms\)$/m)
  })

  test('control characters from client-chosen paths never reach the terminal raw', async () => {
    const line = requestCompleteLine({
      at: at(1),
      status: 404,
      path: '/\u001b[2J\u001b]0;pwned\u0007',
      message: 'Not found\u202e',
    })
    const { stdout } = await run([], { stdin: logText([line]) })
    assert.doesNotMatch(stdout, /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/)
    assert.match(stdout, /\/\\u001b\[2J/)
  })
})

describe('analyze-logs: progress on standard error', () => {
  const chunks = Array.from({ length: 30 }, (_, i) => Buffer.from(logText([requestCompleteLine({ at: at(i) })])))
  // A clock that moves 300 ms at every reading: past the first silent second within a few chunks.
  const movingClock = () => {
    let ms = Date.UTC(2026, 10, 23, 12)
    return () => new Date((ms += 300))
  }

  test('shown at a terminal on long runs, erased before the report', async () => {
    const { stdout, stderr } = await run([], { stdin: chunks, stderrIsTTY: true, now: movingClock() })
    assert.match(stderr, /\r\x1b\[Kreading standard input: [\d,]+ lines, [\d.]+ MB/)
    assert.ok(stderr.endsWith('\r\x1b[K'))
    assert.match(stdout, /^Requests +30$/m)
  })

  test('never with --json, nor when standard error is not a terminal', async () => {
    assert.equal((await run(['--json'], { stdin: chunks, stderrIsTTY: true, now: movingClock() })).stderr, '')
    assert.equal((await run([], { stdin: chunks, stderrIsTTY: false, now: movingClock() })).stderr, '')
  })

  test('not for short runs', async () => {
    assert.equal((await run([], { stdin: chunks, stderrIsTTY: true })).stderr, '')
  })
})
