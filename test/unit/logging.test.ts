import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import { createManualClock } from '../../src/lib/clock.ts'
import { ALL_EVENTS } from '../../src/logging/events.ts'
import { createRotatingFileSink, rotatedName } from '../../src/logging/file-sink.ts'
import { createLogger, logEvent } from '../../src/logging/logger.ts'
import { REDACTED, redactSecrets } from '../../src/logging/redact.ts'
import { batchLines, createMemorySink, LOG_BATCH_BYTES, teeSinks, type ChunkSink } from '../../src/logging/sinks.ts'
import { logLineProblem, logSchema } from '../support/log-schema.ts'

const DAY_MS = 86_400_000
const bytes = (text: string) => Buffer.from(text, 'utf8')

describe('log lines (CONTRACT §7)', () => {
  test('fields, level names and timestamp format', () => {
    const sink = createMemorySink()
    const clock = createManualClock(Date.UTC(2026, 10, 24, 8, 30, 0, 7))
    const log = createLogger({ level: 'debug', sink, clock })
    logEvent(log, 'warning', 'redis_unavailable', { extra: { attempt: 1 } })
    logEvent(log, 'critical', 'database_unavailable')
    logEvent(log, 'debug', 'server_started')
    const [first, second, third] = sink.records()
    assert.deepEqual(first, {
      level: 'WARNING',
      timestamp: '2026-11-24T08:30:00.007Z',
      event: 'redis_unavailable',
      extra: { attempt: 1 },
    })
    assert.equal(second?.level, 'CRITICAL')
    assert.equal(third?.level, 'DEBUG')
    for (const line of sink.lines) assert.equal(logLineProblem(line), null)
    assert.ok(sink.lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')))
  })

  test('lines below the configured level are not written', () => {
    const sink = createMemorySink()
    const log = createLogger({ level: 'warning', sink, clock: createManualClock() })
    logEvent(log, 'info', 'server_started')
    logEvent(log, 'error', 'database_unavailable')
    assert.deepEqual(
      sink.records().map((r) => r.event),
      ['database_unavailable'],
    )
  })

  test('secrets in extra are redacted, however deep', () => {
    const sink = createMemorySink()
    const log = createLogger({ level: 'info', sink, clock: createManualClock() })
    logEvent(log, 'info', 'auth_failure', {
      extra: {
        username: 'ada',
        password: 'hunter2',
        nested: { csrf_token: 'abc', headers: { Authorization: 'Bearer x', cookie: 'sid=1' }, list: [{ token: 't' }] },
      },
    })
    const line = sink.lines[0]!
    for (const secret of ['hunter2', '"abc"', 'Bearer x', 'sid=1', '"t"']) assert.ok(!line.includes(secret), secret)
    assert.equal((sink.records()[0]!.extra as { username: string }).username, 'ada')
  })

  test('redactSecrets keeps non-secrets and bounds depth', () => {
    assert.deepEqual(redactSecrets({ a: 1, sessionId: 'x', b: [1, { passphrase: 'p' }] }), {
      a: 1,
      sessionId: REDACTED,
      b: [1, { passphrase: REDACTED }],
    })
    let deep: Record<string, unknown> = { v: 1 }
    for (let i = 0; i < 20; i++) deep = { deep }
    assert.match(JSON.stringify(redactSecrets(deep)), /Truncated/)
  })

  test('docs/log-schema.json lists exactly the events of src/logging/events.ts', () => {
    assert.deepEqual([...logSchema.properties.event.enum].sort(), [...ALL_EVENTS].sort())
  })

  test('the schema refuses what the contract forbids', () => {
    const base = { level: 'INFO', timestamp: '2026-11-24T08:30:00.000Z', event: 'server_started' }
    assert.equal(logLineProblem(JSON.stringify(base)), null)
    assert.notEqual(logLineProblem(JSON.stringify({ ...base, level: 'info' })), null)
    assert.notEqual(logLineProblem(JSON.stringify({ ...base, timestamp: '2026-11-24T08:30:00Z' })), null)
    assert.notEqual(logLineProblem(JSON.stringify({ ...base, event: 'SomethingHappened' })), null)
    assert.notEqual(logLineProblem(JSON.stringify({ ...base, password: 'x' })), null)
    const complete = {
      ...base,
      event: 'request_complete',
      request_id: '2707f6be-59f0-4bdf-8c87-e25a7b0620e0',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      method: 'GET',
      path: '/x',
      remote_addr: '127.0.0.1',
      user_agent: 'ua',
      user_id: null,
      status_code: 404,
      duration_ms: 1.5,
      error: null,
    }
    assert.notEqual(logLineProblem(JSON.stringify(complete)), null, '4xx must carry an error object')
    assert.equal(
      logLineProblem(JSON.stringify({ ...complete, error: { type: 'HttpError', message: 'Not found' } })),
      null,
    )
    assert.notEqual(logLineProblem(JSON.stringify({ ...complete, path: '/x?token=1', status_code: 200 })), null)
    // trace_id: 32 lowercase hex digits, on every line of a request (one with a request_id).
    const served = { ...complete, error: { type: 'HttpError', message: 'Not found' } }
    const { trace_id: _traceId, ...untraced } = served
    assert.notEqual(logLineProblem(JSON.stringify(untraced)), null, 'a request line without trace_id')
    const denied = { ...base, event: 'csrf_violation', request_id: served.request_id, extra: {} }
    assert.notEqual(logLineProblem(JSON.stringify(denied)), null, 'a security event of a request without trace_id')
    assert.equal(logLineProblem(JSON.stringify({ ...denied, trace_id: served.trace_id })), null)
    for (const traceId of [
      '4BF92F3577B34DA6A3CE929D0E0E4736',
      '4bf92f3577b34da6a3ce929d0e0e473',
      `${'0'.repeat(31)}g`,
    ]) {
      assert.notEqual(logLineProblem(JSON.stringify({ ...served, trace_id: traceId })), null, traceId)
    }
  })
})

describe('LOG_FILE rotation', () => {
  function setup() {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-logs-'))
    const clock = createManualClock(Date.UTC(2026, 10, 20, 23, 59, 0))
    return { dir, clock, path: join(dir, 'lectern.log') }
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

  test('the first line of a new UTC day moves the old file to one named by its date', async () => {
    const { dir, clock, path } = setup()
    const rotations: string[] = []
    const sink = createRotatingFileSink({ path, retentionDays: 14, clock, onRotate: (p) => rotations.push(p) })
    try {
      sink.write(bytes('{"day":20}\n'))
      clock.advance(2 * 60_000)
      sink.write(bytes('{"day":21}\n'))
      await sink.close()
      assert.deepEqual(rotations, [rotatedName(path, '2026-11-20')])
      assert.equal(readFileSync(join(dir, 'lectern.2026-11-20.log'), 'utf8'), '{"day":20}\n')
      assert.equal(readFileSync(path, 'utf8'), '{"day":21}\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('chunks reach the file whole and in order, however large, while earlier writes are in flight', async () => {
    const { dir, clock, path } = setup()
    const sink = createRotatingFileSink({ path, retentionDays: 14, clock })
    try {
      const chunks = [
        '{"message":"Élève 📚"}\n',
        `${JSON.stringify({ pad: 'é'.repeat(40_000) })}\n`, // larger than one SonicBoom write
        '{"n":3}\n',
      ]
      for (const chunk of chunks) sink.write(bytes(chunk))
      await sink.close()
      assert.equal(readFileSync(path, 'utf8'), chunks.join(''))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a batch written after midnight goes to the day its lines were logged on', async () => {
    const { dir, clock, path } = setup()
    const sink = createRotatingFileSink({ path, retentionDays: 14, clock })
    try {
      sink.write(bytes('{"day":20}\n'))
      const loggedAtMs = clock.now() + 59_990 // 23:59:59.990
      clock.advance(60_005) // written at 00:00:00.005 on the 21st
      sink.write(bytes('{"day":20,"batched":true}\n'), loggedAtMs)
      sink.write(bytes('{"day":21}\n'))
      await sink.close()
      assert.equal(readFileSync(join(dir, 'lectern.2026-11-20.log'), 'utf8'), '{"day":20}\n{"day":20,"batched":true}\n')
      assert.equal(readFileSync(path, 'utf8'), '{"day":21}\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a file left from an earlier day is rotated on the first write after a restart', async () => {
    const { dir, clock, path } = setup()
    try {
      writeFileSync(path, '{"old":true}\n')
      const old = new Date(Date.UTC(2026, 10, 18, 12))
      utimesSync(path, old, old)
      const sink = createRotatingFileSink({ path, retentionDays: 14, clock })
      sink.write(bytes('{"new":true}\n'))
      await sink.close()
      assert.equal(readFileSync(join(dir, 'lectern.2026-11-18.log'), 'utf8'), '{"old":true}\n')
      assert.equal(readFileSync(path, 'utf8'), '{"new":true}\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('rotated files older than the retention are removed; others and foreign files stay', async () => {
    const { dir, clock, path } = setup()
    try {
      for (const name of [
        'lectern.2026-11-01.log',
        'lectern.2026-11-05.log.gz',
        'lectern.2026-11-10.log',
        'notes.txt',
      ]) {
        writeFileSync(join(dir, name), 'x\n')
      }
      const removed: string[] = []
      const sink = createRotatingFileSink({ path, retentionDays: 14, clock, onRotate: (_, r) => removed.push(...r) })
      sink.write(bytes('a\n'))
      clock.advance(DAY_MS)
      sink.write(bytes('b\n'))
      await sink.close()
      await settle()
      assert.deepEqual(removed.sort(), ['lectern.2026-11-01.log', 'lectern.2026-11-05.log.gz'])
      const names = readdirSync(dir).sort()
      // 2026-11-21 minus 14 days is 2026-11-07: the 1st and the 5th go, the 10th stays.
      assert.deepEqual(names, ['lectern.2026-11-10.log', 'lectern.2026-11-20.log', 'lectern.log', 'notes.txt'])
      assert.ok(!existsSync(join(dir, 'lectern.2026-11-01.log')))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('batched log writes (batchLines)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }))
  afterEach(() => mock.timers.reset())

  test('lines written within the delay reach the sink as one chunk, in order; later ones as the next', () => {
    const target = createMemorySink()
    const sink = batchLines(target, { clock: createManualClock(), delayMs: 10 })
    sink.write('{"n":1}\n')
    mock.timers.tick(9)
    sink.write('{"n":2}\n')
    assert.deepEqual(target.lines, [], 'nothing is written before the delay has passed')
    mock.timers.tick(1)
    assert.deepEqual(target.lines, ['{"n":1}\n{"n":2}\n'])
    sink.write('{"n":3}\n')
    mock.timers.tick(10)
    assert.deepEqual(target.lines, ['{"n":1}\n{"n":2}\n', '{"n":3}\n'])
  })

  test('a line waits at most the delay, however many follow it', () => {
    const target = createMemorySink()
    const sink = batchLines(target, { clock: createManualClock(), delayMs: 10 })
    for (let ms = 0; ms < 25; ms++) {
      sink.write(`{"ms":${ms}}\n`)
      mock.timers.tick(1)
    }
    assert.equal(target.lines.length, 2, 'two full delays have passed')
    assert.match(target.lines[0]!, /^\{"ms":0\}\n.*\{"ms":9\}\n$/s)
    assert.match(target.lines[1]!, /^\{"ms":10\}\n/)
  })

  test('close() writes the pending lines at once, before closing the sink', async () => {
    const target = createMemorySink()
    const sink = batchLines(target, { clock: createManualClock(), delayMs: 10 })
    sink.write('{"last":true}\n')
    await sink.close()
    assert.deepEqual(target.lines, ['{"last":true}\n'])
    mock.timers.tick(10)
    assert.equal(target.lines.length, 1, 'and nothing twice')
  })

  test('flushSync() writes the pending lines through to the sink before returning', () => {
    const flushed: string[] = []
    const target = { ...createMemorySink(), flushSync: () => void flushed.push('sink') }
    const sink = batchLines(target, { clock: createManualClock(), delayMs: 10 })
    sink.write('{"crash":"explained"}\n')
    sink.flushSync()
    assert.deepEqual(target.lines, ['{"crash":"explained"}\n'])
    assert.deepEqual(flushed, ['sink'], 'the destination is flushed after the batch reached it')
  })

  test('a batch never spans midnight UTC, and the sink learns when its first line was logged', () => {
    const clock = createManualClock(Date.UTC(2026, 11, 5, 23, 59, 59, 995))
    const received: Array<[string, number | undefined]> = []
    const target = {
      ...createMemorySink(),
      write: (chunk: Buffer, atMs?: number) => void received.push([chunk.toString(), atMs]),
    }
    const sink = batchLines(target, { clock, delayMs: 10 })
    sink.write('{"day":5}\n')
    clock.advance(3)
    sink.write('{"day":5}\n')
    clock.advance(3) // 00:00:00.001 on the 6th
    sink.write('{"day":6}\n')
    assert.deepEqual(received, [['{"day":5}\n{"day":5}\n', Date.UTC(2026, 11, 5, 23, 59, 59, 995)]])
    mock.timers.tick(10)
    assert.deepEqual(received[1], ['{"day":6}\n', Date.UTC(2026, 11, 6, 0, 0, 0, 1)])
  })

  test('a batch reaches every destination as the same UTF-8 bytes, encoded once', () => {
    const received: Buffer[][] = [[], []]
    const destination = (i: number): ChunkSink => ({
      write: (chunk) => void received[i]!.push(chunk),
      close: async () => {},
      flushSync: () => {},
    })
    const sink = batchLines(teeSinks([destination(0), destination(1)]), { clock: createManualClock(), delayMs: 10 })
    sink.write('{"message":"Élève inscrite à « Rédaction » 📚"}\n')
    sink.write('{"n":2}\n')
    mock.timers.tick(10)
    const [first, second] = received
    assert.equal(first!.length, 1)
    assert.equal(first![0], second![0], 'one buffer for both destinations')
    assert.equal(first![0]!.toString('utf8'), '{"message":"Élève inscrite à « Rédaction » 📚"}\n{"n":2}\n')
  })

  test('a burst is written as soon as it reaches the size bound, without waiting', () => {
    const target = createMemorySink()
    const sink = batchLines(target, { clock: createManualClock(), delayMs: 10 })
    const line = `${JSON.stringify({ pad: 'x'.repeat(1000) })}\n`
    for (let i = 0; i < 1000; i++) sink.write(line)
    assert.ok(target.lines.length >= 3, `${target.lines.length} chunks for 1 MB`)
    assert.ok(target.lines.every((chunk) => Buffer.byteLength(chunk) <= LOG_BATCH_BYTES))
    assert.ok(target.lines.every((chunk) => chunk.endsWith('\n')))
    mock.timers.tick(10) // the rest, under the bound, waits for the timer
    assert.equal(target.lines.join(''), line.repeat(1000), 'every line, once, in order')
  })

  test('a line larger than a whole batch is written on its own, in order with the others', () => {
    const target = createMemorySink()
    const sink = batchLines(target, { clock: createManualClock(), delayMs: 10 })
    const huge = `${JSON.stringify({ stack: 'é'.repeat(LOG_BATCH_BYTES) })}\n`
    sink.write('{"n":1}\n')
    sink.write(huge)
    sink.write('{"n":3}\n')
    mock.timers.tick(10)
    assert.deepEqual(target.lines, ['{"n":1}\n', huge, '{"n":3}\n'])
  })
})
