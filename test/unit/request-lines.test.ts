import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createManualClock } from '../../src/lib/clock.ts'
import { createLogger, logEvent } from '../../src/logging/logger.ts'
import { bindRequest, createRequestLines, type RequestBindings } from '../../src/logging/request-lines.ts'
import { createMemorySink } from '../../src/logging/sinks.ts'
import { logLineProblem } from '../support/log-schema.ts'

const BINDINGS: RequestBindings = {
  request_id: '3f2a6c1e-9b7d-4e58-a1c2-0d4e5f6a7b8c',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  method: 'GET',
  path: '/api/courses/web-fundamentals',
  remote_addr: '203.0.113.7',
  user_agent: 'Mozilla/5.0',
}

function setUp(level: 'debug' | 'info' | 'warning' = 'info') {
  const sink = createMemorySink()
  const clock = createManualClock(Date.UTC(2026, 11, 5, 9, 30, 0, 42))
  const logger = createLogger({ level, sink, clock })
  return { sink, logger, lines: createRequestLines({ logger, clock }) }
}

describe('request lines (request_received, request_complete)', () => {
  test('the same fields, order and values as pino writes for any other event', () => {
    const { sink, logger, lines } = setUp()
    lines.received(bindRequest(BINDINGS), 7)
    logEvent(logger.child({ ...BINDINGS }), 'info', 'request_received', { user_id: 7 })
    const [ours, pinos] = sink.lines
    assert.equal(ours, pinos)
    assert.deepEqual(JSON.parse(ours!), {
      level: 'INFO',
      timestamp: '2026-12-05T09:30:00.042Z',
      ...BINDINGS,
      event: 'request_received',
      user_id: 7,
    })
  })

  test('request_complete carries status, duration and the error told to the client, at its level', () => {
    const { sink, logger, lines } = setUp()
    const bound = bindRequest(BINDINGS)
    lines.complete(bound, 'info', { userId: null, statusCode: 200, durationMs: 1.234, error: null })
    const error = { type: 'HttpError', message: 'Invalid username or password' }
    lines.complete(bound, 'warning', { userId: 3, statusCode: 401, durationMs: 0.5, error })
    const crash = { type: 'Error', message: 'Internal server error', stack: 'Error: x\n    at y (z.ts:1:2)' }
    lines.complete(bound, 'error', { userId: null, statusCode: 500, durationMs: 12, error: crash })
    for (const line of sink.lines) assert.equal(logLineProblem(line), null)
    const [ok, denied, failed] = sink.records()
    assert.deepEqual(ok, {
      level: 'INFO',
      timestamp: '2026-12-05T09:30:00.042Z',
      ...BINDINGS,
      event: 'request_complete',
      user_id: null,
      status_code: 200,
      duration_ms: 1.234,
      error: null,
    })
    assert.deepEqual([denied?.level, denied?.user_id, denied?.error], ['WARNING', 3, error])
    assert.deepEqual([failed?.level, failed?.error], ['ERROR', crash])
    // The same line through pino, for the parity of the whole line.
    logEvent(logger.child({ ...BINDINGS }), 'warning', 'request_complete', {
      user_id: 3,
      status_code: 401,
      duration_ms: 0.5,
      error,
    })
    assert.equal(sink.lines[1], sink.lines[3])
  })

  test('each line carries the time of the clock to the millisecond, however many share one', () => {
    const sink = createMemorySink()
    const clock = createManualClock(Date.UTC(2026, 11, 5, 9, 30, 0, 42))
    const timed = createRequestLines({ logger: createLogger({ level: 'info', sink, clock }), clock })
    const bound = bindRequest(BINDINGS)
    timed.received(bound, null)
    timed.received(bound, null)
    clock.advance(1)
    timed.received(bound, null)
    clock.advance(998)
    timed.complete(bound, 'info', { userId: null, statusCode: 204, durationMs: 999, error: null })
    assert.deepEqual(
      sink.records().map((r) => r.timestamp),
      ['2026-12-05T09:30:00.042Z', '2026-12-05T09:30:00.042Z', '2026-12-05T09:30:00.043Z', '2026-12-05T09:30:01.041Z'],
    )
  })

  test('hostile client strings are escaped: one line, valid JSON, the exact text back', () => {
    const { sink, lines } = setUp()
    const hostile = {
      ...BINDINGS,
      path: '/a"b\\c\n{"level":"CRITICAL"}\u2028',
      user_agent: 'x"}\r\n{"event":"admin_action","extra":{}}\u0000\u001b[31m',
      method: 'GET',
    }
    lines.received(bindRequest(hostile), null)
    const line = sink.lines[0]!
    assert.equal(line.indexOf('\n'), line.length - 1, 'a single line')
    assert.equal(logLineProblem(line), null)
    const record = sink.records()[0]!
    assert.equal(record.path, hostile.path)
    assert.equal(record.user_agent, hostile.user_agent)
    assert.equal(record.event, 'request_received')
  })

  test('every kind of character is quoted exactly as pino (JSON.stringify) quotes it', () => {
    const { sink, logger, lines } = setUp()
    const values = [
      '',
      'plain ASCII 0-9 ~!@#$%^&*()',
      'quote " backslash \\ slash /',
      'controls \u0000\u0001\u0008\t\n\u000b\f\r\u001f and DEL \u007f',
      'line separators \u2028\u2029, Latin-1 \u00e9\u00ff, CJK \u8a9e',
      'a pair \ud83d\ude00 (emoji)',
      'lone high \ud83d end',
      'lone low \ude00 end',
      'reversed pair \ude00\ud83d',
      // each control character alone, so that one missing from the check cannot hide behind another
      ...Array.from({ length: 0x20 }, (_, code) => `x${String.fromCharCode(code)}y`),
    ]
    for (const value of values) {
      const bindings = { ...BINDINGS, path: `/p/${value}`, user_agent: value }
      lines.received(bindRequest(bindings), null)
      logEvent(logger.child({ ...bindings }), 'info', 'request_received', { user_id: null })
    }
    for (let i = 0; i < values.length; i++) {
      const [ours, pinos] = [sink.lines[2 * i]!, sink.lines[2 * i + 1]!]
      assert.equal(ours, pinos, `user agent ${JSON.stringify(values[i])}`)
      assert.equal(logLineProblem(ours), null)
    }
  })

  test('a peer address gone with a reset connection is an empty string, never bare undefined', () => {
    const { sink, lines } = setUp()
    // What Node gives for req.ip once the client has reset its socket, whatever the types say.
    const gone = { ...BINDINGS, remote_addr: undefined as unknown as string }
    const bound = bindRequest(gone)
    lines.received(bound, null)
    lines.complete(bound, 'info', { userId: null, statusCode: 200, durationMs: 0.2, error: null })
    for (const line of sink.lines) assert.equal(logLineProblem(line), null)
    assert.deepEqual(
      sink.records().map((r) => r.remote_addr),
      ['', ''],
    )
  })

  test('LOG_LEVEL decides: warning keeps a 4xx completion, drops received and 2xx lines', () => {
    const { sink, lines } = setUp('warning')
    const bound = bindRequest(BINDINGS)
    lines.received(bound, null)
    lines.complete(bound, 'info', { userId: null, statusCode: 200, durationMs: 1, error: null })
    assert.equal(bound.json, null, 'nothing written, nothing serialised')
    lines.complete(bound, 'warning', {
      userId: null,
      statusCode: 404,
      durationMs: 1,
      error: { type: 'HttpError', message: 'Not found' },
    })
    assert.deepEqual(
      sink.records().map((r) => [r.event, r.status_code]),
      [['request_complete', 404]],
    )
    assert.notEqual(bound.json, null)
  })

  test('a logger not made by createLogger is refused, not written around', () => {
    const { logger } = setUp()
    assert.throws(() => createRequestLines({ logger: logger.child({}), clock: createManualClock() }), /createLogger/)
  })
})
