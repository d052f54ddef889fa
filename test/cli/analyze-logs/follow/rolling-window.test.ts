import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { LogLineScanner } from '../../../../src/cli/analyze-logs/line-scanner.ts'
import { analyzeLogsCommand } from '../../../../src/cli/analyze-logs/index.ts'
import { evaluateAlerts } from '../../../../src/cli/analyze-logs/alerts.ts'
import { jsonReport } from '../../../../src/cli/analyze-logs/report.ts'
import { RollingWindow, type RollingWindowOptions } from '../../../../src/cli/analyze-logs/follow/rolling-window.ts'
import { SampleRing } from '../../../../src/cli/analyze-logs/follow/sample-ring.ts'
import { eventLine, requestCompleteLine, seededRandom } from '../../../support/log-lines.ts'

const MINUTE = 60_000
const START = Date.UTC(2026, 10, 23, 10, 0, 0)
const iso = (ms: number) => new Date(ms).toISOString()

/** A window over a clock the test moves, fed whole lines as the tracker would. */
function windowAt(startMs: number, options: Partial<RollingWindowOptions> = {}) {
  let nowMs = startMs
  const window = new RollingWindow({ windowMs: 5 * MINUTE, topErrors: 10, nowMs: () => nowMs, ...options })
  const scanner = new LogLineScanner()
  return {
    window,
    feed(...lines: string[]) {
      for (const line of lines) {
        const buf = Buffer.from(`${line}\n`)
        window.addLine(scanner.scan(buf, 0, buf.length - 1))
      }
    },
    advance(ms: number) {
      nowMs += ms
    },
    now: () => nowMs,
    summary: () => window.summary(nowMs).summary,
  }
}

const request = (atMs: number, status = 200, durationMs = 10, path = '/ok') =>
  requestCompleteLine({ at: iso(atMs), status, durationMs, path })

describe('SampleRing', () => {
  test('holds samples in arrival order through growth, wrap-around and retain, like an array would', () => {
    const random = seededRandom(7)
    const dropped: number[] = []
    const ring = new SampleRing(2, 3000, (r, slot) => dropped.push(r.timestampAt(slot)))
    let model: Array<[number, number, number]> = []
    let next = 0
    for (let round = 0; round < 200; round++) {
      const pushes = Math.floor(random() * 100)
      for (let i = 0; i < pushes; i++) {
        const sample: [number, number, number] = [next++, random(), random()]
        if (ring.push(sample[0], sample[1], sample[2])) model.shift()
        model.push(sample)
      }
      if (round % 7 === 0) {
        const cut = Math.floor(random() * next)
        ring.retain((slot) => ring.timestampAt(slot) >= cut || ring.timestampAt(slot) % 3 === 0)
        model = model.filter(([ts]) => ts >= cut || ts % 3 === 0)
      }
      const seen: Array<[number, number, number]> = []
      ring.forEach((slot) => seen.push([ring.timestampAt(slot), ring.valueAt(slot, 0), ring.valueAt(slot, 1)]))
      assert.deepEqual(seen, model, `round ${round}`)
      assert.ok(ring.capacity <= 3000)
    }
    assert.ok(dropped.length > 0, 'retain() reports what it drops')
  })

  test('a full ring drops its oldest sample first and says so', () => {
    const dropped: number[] = []
    const ring = new SampleRing(0, 3, (r, slot) => dropped.push(r.timestampAt(slot)))
    assert.deepEqual(
      [1, 2, 3].map((t) => ring.push(t)),
      [false, false, false],
    )
    assert.equal(ring.push(4), true)
    assert.deepEqual(dropped, [1])
    const kept: number[] = []
    ring.forEach((slot) => kept.push(ring.timestampAt(slot)))
    assert.deepEqual(kept, [2, 3, 4])
    assert.equal(ring.capacity, 3)
  })
})

describe('RollingWindow: eviction by time', () => {
  test('counts the lines of [now − window, now], both ends inclusive, and forgets older ones', () => {
    const w = windowAt(START)
    // Read at START: 5 min before (exactly at the window's start), 1 min before, and now.
    w.feed(request(START - 5 * MINUTE, 500, 30), request(START - MINUTE, 200, 20), request(START, 404, 10))
    w.feed(eventLine('auth_failure', iso(START - 2 * MINUTE)))
    let summary = w.summary()
    assert.equal(summary.totalRequests, 3)
    assert.equal(summary.errorRequests, 2)
    assert.equal(summary.serverErrorRequests, 1)
    assert.deepEqual(summary.latencyMs, { p50: 20, p95: 30, p99: 30, max: 30 })
    assert.equal(summary.securityEvents.auth_failure, 1)
    assert.equal(w.window.retainedSamples, 4)

    w.advance(1) // the line at START − 5 min is now 1 ms too old
    summary = w.summary()
    assert.equal(summary.totalRequests, 2)
    assert.equal(summary.serverErrorRequests, 0)
    assert.equal(w.window.retainedSamples, 3, 'evicted, not merely left out')
    assert.deepEqual(summary.topErrors, [{ path: '/ok', error: 'Error 404', count: 1 }])

    w.advance(3 * MINUTE - 1) // START + 3 min: the auth_failure (START − 2 min) is at the window's start
    assert.equal(w.summary().securityEvents.auth_failure, 1)
    w.advance(1)
    assert.equal(w.summary().securityEvents.auth_failure, 0)
    w.advance(2 * MINUTE)
    summary = w.summary()
    assert.equal(summary.totalRequests, 0)
    assert.equal(summary.latencyMs, null)
    assert.deepEqual(summary.topErrors, [])
    assert.equal(w.window.retainedSamples, 0)
    assert.equal(w.window.retainedErrorGroups, 0, 'error groups go with their last request')
  })

  test('a line already older than the window when read is not kept; one stamped ahead waits for its time', () => {
    const w = windowAt(START)
    w.feed(request(START - 5 * MINUTE - 1), request(START + 30_000))
    assert.equal(w.window.retainedSamples, 1)
    assert.equal(w.summary().totalRequests, 0, 'after now: not in the window yet')
    w.advance(30_000)
    assert.equal(w.summary().totalRequests, 1)
  })

  test('lines out of order (two files interleaved) leave the window each at its own time', () => {
    const w = windowAt(START)
    w.feed(request(START), request(START - 4 * MINUTE), request(START - MINUTE), request(START - 3 * MINUTE))
    w.advance(2 * MINUTE + 1) // the window starts at START − 3 min + 1 ms
    assert.equal(w.summary().totalRequests, 2)
    assert.equal(w.window.retainedSamples, 2)
  })

  test('unusable lines count by the second they were read, under the batch analyzer’s rules, and leave with it', () => {
    const w = windowAt(START)
    w.feed('not json', '[1]', '', '   ', JSON.stringify({ event: 'request_complete', timestamp: 'yesterday' }))
    w.feed(JSON.stringify({ timestamp: iso(START), event: 'request_complete', status_code: 200 })) // no duration
    w.feed(JSON.stringify({ timestamp: iso(START), event: 'request_complete', status_code: 2.5, duration_ms: 1 }))
    w.window.addSkipped() // an overlong line
    assert.equal(w.summary().skippedLines, 6)
    w.advance(MINUTE)
    w.feed('{')
    assert.equal(w.summary().skippedLines, 7)
    w.advance(4 * MINUTE + 1000)
    assert.equal(w.summary().skippedLines, 1, 'the first second has left the window')
  })
})

describe('RollingWindow: the same figures as the batch analyzer', () => {
  test('over a varied log, the rolling summary is the one-shot --json report of the same window', async () => {
    const random = seededRandom(42)
    const lines: string[] = []
    const paths = ['/a', '/b', '/api/login', null]
    for (let i = 0; i < 3000; i++) {
      const atMs = START - 7 * MINUTE + Math.floor(random() * 7 * MINUTE)
      const roll = random()
      if (roll < 0.1) lines.push(eventLine(random() < 0.5 ? 'auth_failure' : 'csrf_violation', iso(atMs)))
      else if (roll < 0.13) lines.push('garbage')
      else {
        const status = roll < 0.3 ? 404 : roll < 0.35 ? 503 : 200
        const path = paths[Math.floor(random() * paths.length)]
        const line = JSON.parse(request(atMs, status, Math.round(random() * 2000) / 10, 'x')) as Record<string, unknown>
        line.path = path
        lines.push(JSON.stringify(line))
      }
    }
    const w = windowAt(START)
    w.feed(...lines)
    const { summary, window } = w.window.summary(START)
    const thresholds = { errorRate: 0.2, p95Ms: 150 }
    const rolling = jsonReport({ summary, alerts: evaluateAlerts(summary, thresholds), thresholds, window })

    let out = ''
    await analyzeLogsCommand(
      ['--json', '--last-minutes', '5', '--error-rate-threshold', '0.2', '--p95-threshold-ms', '150', '-'],
      {
        stdin: Readable.from([Buffer.from(lines.join('\n'))]),
        stdout: new Writable({ write: (chunk: Buffer, _e, done) => ((out += chunk.toString()), done()) }),
        stderr: new Writable({ write: (_c, _e, done) => done() }),
        now: () => new Date(START),
        stderrIsTTY: false,
      },
    )
    const batch = JSON.parse(out) as Record<string, unknown>
    assert.ok((batch.total_requests as number) > 1000)
    assert.ok((batch.alerts as unknown[]).length > 0)
    // The batch analyzer counts unusable lines whatever their time; the rolling window those read in it: all here.
    assert.deepEqual(rolling, batch)
  })
})

describe('RollingWindow: bounded memory', () => {
  test('200,000 lines over 100 minutes: what is held follows the window, not the length of the run', () => {
    const w = windowAt(START)
    const perSecond = 200_000 / (100 * 60) // ≈ 33 lines a second
    const windowLines = Math.ceil(perSecond * 5 * 60)
    const interval = 5_000
    let fed = 0
    let maxHeld = 0
    for (let tick = 1; fed < 200_000; tick++) {
      // One interval of lines, stamped as they come, 1 in 10 an error on a path of its own.
      const due = Math.min(200_000, Math.round((tick * interval * perSecond) / 1000))
      for (; fed < due; fed++) {
        const atMs = w.now() + Math.floor(((fed % 167) / 167) * interval)
        w.feed(fed % 10 === 0 ? request(atMs, 404, 5, `/probe/${fed}`) : request(atMs))
      }
      w.advance(interval)
      const summary = w.summary()
      maxHeld = Math.max(maxHeld, w.window.retainedSamples)
      assert.ok(w.window.retainedSamples <= windowLines + Math.ceil((perSecond * interval) / 1000) + 1)
      assert.ok(w.window.retainedErrorGroups <= w.window.retainedSamples / 10 + 2)
      if (tick > 60) assert.ok(summary.totalRequests >= windowLines * 0.95, `tick ${tick}: ${summary.totalRequests}`)
    }
    assert.equal(fed, 200_000)
    assert.ok(maxHeld < 200_000 / 15, `held at most ${maxHeld}`)
    assert.ok(w.window.allocatedSamples <= 2 * 16_384, `allocated ${w.window.allocatedSamples}`)
  })

  test('a flood inside the window stops at the ceiling: the oldest go first, and the summary says so', () => {
    const w = windowAt(START, { maxRequests: 1000, maxSecurityEvents: 100 })
    for (let i = 0; i < 5000; i++) w.feed(request(START - 1000 + (i % 1000), 200, i))
    for (let i = 0; i < 500; i++) w.feed(eventLine('rate_limited', iso(START)))
    assert.equal(w.window.retainedSamples, 1100)
    assert.ok(w.window.allocatedSamples <= 1100)
    let summary = w.summary()
    assert.equal(summary.totalRequests, 1000)
    assert.equal(summary.latencyMs?.max, 4999, 'the newest were kept')
    assert.equal(summary.securityEvents.rate_limited, 100)
    assert.equal(summary.droppedForSpace, true)
    w.advance(5 * MINUTE + 1)
    summary = w.summary()
    assert.equal(summary.droppedForSpace, false, 'once the drops are out of the window, the figures are whole again')
    assert.equal(w.window.retainedSamples, 0)
  })

  test('error groups beyond the ceiling are counted as errors, and the top list says how low it may be', () => {
    const w = windowAt(START, { maxErrorGroups: 3, topErrors: 10 })
    for (const path of ['/a', '/a', '/b', '/c', '/d', '/e', '/e']) w.feed(request(START, 404, 1, path))
    const summary = w.summary()
    assert.equal(summary.errorRequests, 7)
    assert.deepEqual(
      summary.topErrors.map((e) => [e.path, e.count]),
      [
        ['/a', 2],
        ['/b', 1],
        ['/c', 1],
      ],
    )
    assert.equal(summary.topErrorsMaxUndercount, 3)
    assert.equal(w.window.retainedErrorGroups, 3)
    w.advance(5 * MINUTE + 1)
    w.feed(request(w.now(), 404, 1, '/e'))
    assert.deepEqual(w.summary().topErrors, [{ path: '/e', error: 'Error 404', count: 1 }], 'room again')
  })
})
