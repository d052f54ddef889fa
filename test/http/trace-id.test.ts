import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { securityEvent } from '../../src/http/request-context.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`
const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/

describe('trace_id on every line of a request (CONTRACT §7)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({
      routes: (app) => {
        app.get('/test/ok', { config: { access: 'public' } }, async () => ({ ok: true }))
        // A security decision and then a crash, in one request.
        app.get('/test/denied-then-crash', { config: { access: 'public' } }, async (req) => {
          securityEvent(req, 'upload_rejected', { reason: 'dimensions' })
          throw new Error('database on fire')
        })
      },
    })
  })
  after(() => t.close()) // every line checked against docs/log-schema.json: trace_id wherever request_id is

  /** Every line logged under the request id of `res`. */
  const linesOf = (res: { headers: Record<string, unknown> }) =>
    t.logs().filter((line) => line.request_id === res.headers['x-request-id'])

  async function traceIdOf(headers: Record<string, string> = {}): Promise<string> {
    const res = await t.app.inject({ method: 'GET', url: '/test/ok', headers })
    const lines = linesOf(res)
    assert.deepEqual(
      lines.map((l) => l.event),
      ['request_received', 'request_complete'],
    )
    const [received, complete] = lines.map((l) => l.trace_id)
    assert.equal(received, complete, 'one trace id per request')
    assert.match(String(received), TRACE_ID_PATTERN)
    return String(received)
  }

  test('a valid traceparent is honoured: its trace-id is the request’s trace_id', async () => {
    assert.equal(await traceIdOf({ traceparent: TRACEPARENT }), TRACE_ID)
    assert.equal(await traceIdOf({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` }), TRACE_ID, 'not sampled')
    // The header's name in any case (Node lower-cases it).
    assert.equal(await traceIdOf({ TraceParent: TRACEPARENT }), TRACE_ID)
  })

  test('a later version is read by the version 00 layout, extra fields ignored', async () => {
    const future = `cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`
    assert.equal(await traceIdOf({ traceparent: future }), TRACE_ID)
  })

  test('each invalid traceparent gives a fresh id, never the header’s', async () => {
    const invalid = [
      `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, // uppercase
      `ff-${TRACE_ID}-${PARENT_ID}-01`, // version ff
      `00-${'0'.repeat(32)}-${PARENT_ID}-01`, // all-zero trace-id
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`, // all-zero parent-id
      `${TRACEPARENT}-what-the-future-will-be-like`, // version 00 with more fields
      `cc-${TRACE_ID}-${PARENT_ID}-01.future`, // a later version followed by a non-field
      `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`, // a digit short
      `00-${TRACE_ID}-${PARENT_ID}`, // no flags
      `${TRACEPARENT},${TRACEPARENT}`, // two values
      'garbage',
    ]
    const seen = new Set<string>()
    for (const traceparent of invalid) {
      const id = await traceIdOf({ traceparent })
      assert.notEqual(id, TRACE_ID, traceparent)
      assert.ok(!traceparent.includes(id), `the id comes from the header: ${traceparent}`)
      seen.add(id)
    }
    assert.equal(seen.size, invalid.length, 'a new id for each request')
  })

  test('two requests without traceparent get different ids; two with the same header share it', async () => {
    const [a, b] = [await traceIdOf(), await traceIdOf()]
    assert.notEqual(a, b)
    assert.equal(await traceIdOf({ traceparent: TRACEPARENT }), await traceIdOf({ traceparent: TRACEPARENT }))
  })

  test('the id is on every line of the request: received, the security event, the error, complete', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/test/denied-then-crash',
      headers: { traceparent: TRACEPARENT },
    })
    assert.equal(res.statusCode, 500)
    const lines = linesOf(res)
    assert.deepEqual(
      lines.map((l) => [l.event, l.trace_id]),
      [
        ['request_received', TRACE_ID],
        ['upload_rejected', TRACE_ID],
        ['unhandled_error', TRACE_ID],
        ['request_complete', TRACE_ID],
      ],
    )
  })

  test('a security decision of the stack (a CSRF refusal) carries it too, with a fresh id when none is sent', async () => {
    for (const headers of [{ traceparent: TRACEPARENT }, {}]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/logout', headers })
      assert.equal(res.statusCode, 403)
      const lines = linesOf(res)
      assert.deepEqual(
        lines.map((l) => l.event),
        ['request_received', 'csrf_violation', 'request_complete'],
      )
      const ids = new Set(lines.map((l) => l.trace_id))
      assert.equal(ids.size, 1)
      const [id] = ids
      assert.match(String(id), TRACE_ID_PATTERN)
      assert.equal(id === TRACE_ID, 'traceparent' in headers)
    }
  })

  test('a path refused before routing (/%zz) is traced like any request', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/%zz', headers: { traceparent: TRACEPARENT } })
    assert.equal(res.statusCode, 400)
    assert.deepEqual(
      linesOf(res).map((l) => l.trace_id),
      [TRACE_ID, TRACE_ID],
    )
  })

  test('the response carries no trace header: the request id alone answers for it', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/test/ok', headers: { traceparent: TRACEPARENT } })
    for (const name of ['traceparent', 'tracestate', 'traceresponse']) assert.equal(res.headers[name], undefined)
    assert.ok(!Object.values(res.headers).some((value) => String(value).includes(TRACE_ID)))
  })
})

describe('trace_id over a real connection', () => {
  /** Sends raw bytes and resolves with everything the server wrote before closing. */
  function exchange(port: number, raw: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(raw))
      let received = ''
      socket.setEncoding('latin1')
      socket.on('data', (chunk: string) => (received += chunk))
      socket.on('error', reject)
      socket.on('close', () => resolve(received))
    })
  }
  const requestIdIn = (response: string) => /^x-request-id: (\S+)$/im.exec(response)?.[1]

  test('traceparent sent once is honoured; sent twice, it is invalid; bytes that are no request get an id', async () => {
    const t = await buildTestApp({
      routes: (app) => app.get('/test/ok', { config: { access: 'public' } }, async () => ({ ok: true })),
    })
    try {
      const { port } = new URL(await t.app.listen({ port: 0, host: '127.0.0.1' }))
      const request = (headers: string) =>
        `GET /test/ok HTTP/1.1\r\nHost: lectern.test\r\n${headers}Connection: close\r\n\r\n`
      const traceOf = (response: string) => {
        const id = requestIdIn(response)
        const lines = t.logs().filter((line) => line.request_id === id)
        assert.equal(lines.length, 2, response)
        assert.equal(lines[0]!.trace_id, lines[1]!.trace_id)
        return String(lines[0]!.trace_id)
      }

      assert.equal(traceOf(await exchange(Number(port), request(`traceparent: ${TRACEPARENT}\r\n`))), TRACE_ID)
      const twice = traceOf(
        await exchange(Number(port), request(`traceparent: ${TRACEPARENT}\r\ntraceparent: ${TRACEPARENT}\r\n`)),
      )
      assert.match(twice, TRACE_ID_PATTERN)
      assert.notEqual(twice, TRACE_ID)
      const malformed = traceOf(await exchange(Number(port), 'NOT HTTP AT ALL\r\n\r\n'))
      assert.match(malformed, TRACE_ID_PATTERN)
      assert.notEqual(malformed, twice)
    } finally {
      await t.close()
    }
  })
})
