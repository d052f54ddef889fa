import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { computeSecurityHeaders, DATA_HEADER_POLICY, DOCUMENT_HEADER_POLICY } from '../../src/security/headers.ts'

describe('HTTP conventions (CONTRACT §3)', () => {
  let t: TestApp
  // Unsafe requests carry a CSRF token, as from our own pages (the guard is on in tests too).
  let agent: Agent
  before(async () => {
    // Routes that exist only to exercise the error paths.
    t = await buildTestApp({
      routes: (app) => {
        app.post('/test/echo', {
          config: { access: 'public' },
          schema: {
            body: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: { name: { type: 'string', minLength: 1 }, count: { type: 'integer' } },
            },
          },
          handler: async (req) => ({ received: req.body }),
        })
        app.get('/test/boom', { config: { access: 'public' } }, async () => {
          throw new Error('database password is hunter2')
        })
        app.get('/test/param/:value', { config: { access: 'public' } }, async (req) => ({
          length: (req.params as { value: string }).value.length,
        }))
        // A page whose answer is replaced by an error after the security headers were chosen.
        app.get(
          '/test/page-then-boom',
          {
            config: { access: 'public' },
            onSend: async () => {
              throw new Error('late failure')
            },
          },
          async (_req, reply) => reply.type('text/html; charset=utf-8').send('<p>page</p>'),
        )
      },
    })
  })
  before(() => {
    agent = createAgent(t.app)
  })
  after(() => t.close())

  test('every response carries X-Request-ID equal to the logged request_id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' })
    const id = res.headers['x-request-id']
    assert.match(String(id), /^[0-9a-f-]{36}$/)
    const complete = t.events('request_complete').find((line) => line.request_id === id)
    assert.equal(complete?.status_code, 200)
    assert.equal(t.events('request_received').filter((line) => line.request_id === id).length, 1)
  })

  test('a client-chosen X-Request-ID is not trusted', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'forged' } })
    assert.notEqual(res.headers['x-request-id'], 'forged')
  })

  test('unknown path → 404 JSON error with request_id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/no/such/thing?x=1' })
    assert.equal(res.statusCode, 404)
    assert.deepEqual(res.json(), { error: 'Not found', request_id: res.headers['x-request-id'] })
    const line = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal(line?.path, '/no/such/thing')
    assert.deepEqual(line?.error, { type: 'HttpError', message: 'Not found' })
  })

  test('known path, wrong method → 405 with Allow; OPTIONS → 204 with Allow', async () => {
    const res = await agent.request({ method: 'DELETE', url: '/healthz' })
    assert.equal(res.statusCode, 405)
    assert.equal(res.json().error, 'Method not allowed')
    assert.match(String(res.headers.allow), /GET/)
    const options = await t.app.inject({ method: 'OPTIONS', url: '/healthz' })
    assert.equal(options.statusCode, 204)
    assert.match(String(options.headers.allow), /GET.*OPTIONS/)
  })

  test('malformed JSON → 400 "Malformed JSON body"', async () => {
    const res = await agent.request({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error, 'Malformed JSON body')
  })

  test('unknown body field → 400 naming it, nothing silently dropped', async () => {
    const res = await agent.request({ method: 'POST', url: '/test/echo', payload: { name: 'a', role: 'admin' } })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error, 'Unknown field: role')
  })

  test('wrong type is refused, not coerced', async () => {
    const res = await agent.request({ method: 'POST', url: '/test/echo', payload: { name: 'a', count: '3' } })
    assert.equal(res.statusCode, 400)
    assert.match(res.json().error, /count must be integer/)
  })

  test('missing field → 400 naming it', async () => {
    const res = await agent.request({ method: 'POST', url: '/test/echo', payload: {} })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error, 'Missing field: name')
  })

  test('valid body passes', async () => {
    const res = await agent.request({ method: 'POST', url: '/test/echo', payload: { name: 'a', count: 3 } })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { received: { name: 'a', count: 3 } })
  })

  test('wrong content type → 415', async () => {
    const res = await agent.request({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<name/>',
    })
    assert.equal(res.statusCode, 415)
    assert.equal(res.json().error, 'Unsupported content type')
  })

  test('oversized JSON body → 413 with a clear message', async () => {
    const res = await agent.request({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    })
    assert.equal(res.statusCode, 413)
    assert.equal(res.json().error, 'Request body too large')
  })

  test('a path that cannot be decoded → 400 like any other error: body, id, headers, both log lines', async () => {
    for (const url of ['/%zz', '/api/courses/%E0%A4%A']) {
      const res = await t.app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, 400)
      const id = res.headers['x-request-id']
      assert.match(String(id), /^[0-9a-f-]{36}$/)
      assert.deepEqual(res.json(), { error: 'Malformed URL', request_id: id })
      assert.match(String(res.headers['content-type']), /^application\/json/)
      assert.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';sandbox")
      assert.equal(res.headers['x-content-type-options'], 'nosniff')
      assert.equal(res.headers['x-frame-options'], 'DENY')
      const lines = t.logs().filter((l) => l.request_id === id)
      assert.deepEqual(
        lines.map((l) => [l.event, l.level, l.status_code, l.path]),
        [
          ['request_received', 'INFO', undefined, url],
          ['request_complete', 'WARNING', 400, url],
        ],
      )
      assert.deepEqual(lines[1]!.error, { type: 'HttpError', message: 'Malformed URL' })
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  })

  test('a path parameter over the length limit → 414 in the same terms; a long one within it reaches the route', async () => {
    const within = await t.app.inject({ method: 'GET', url: `/test/param/${'a'.repeat(500)}` })
    assert.equal(within.statusCode, 200)
    assert.deepEqual(within.json(), { length: 500 })
    const over = await t.app.inject({ method: 'GET', url: `/test/param/${'a'.repeat(501)}` })
    assert.equal(over.statusCode, 414)
    assert.deepEqual(over.json(), { error: 'URL too long', request_id: over.headers['x-request-id'] })
    assert.equal(over.headers['x-content-type-options'], 'nosniff')
    const complete = t.events('request_complete').find((l) => l.request_id === over.headers['x-request-id'])
    assert.deepEqual([complete?.level, complete?.status_code], ['WARNING', 414])
  })

  test('an exception → 500 that reveals nothing, unhandled_error with stack, app lives on', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/test/boom' })
    assert.equal(res.statusCode, 500)
    assert.deepEqual(res.json(), { error: 'Internal server error', request_id: res.headers['x-request-id'] })
    assert.doesNotMatch(res.body, /hunter2|stack|at /)
    const unhandled = t.events('unhandled_error').find((l) => l.request_id === res.headers['x-request-id'])
    assert.ok(unhandled, 'unhandled_error logged')
    assert.equal(unhandled.level, 'ERROR')
    assert.match(String((unhandled.error as { stack: string }).stack), /errors-and-headers/)
    const again = await t.app.inject({ method: 'GET', url: '/healthz' })
    assert.equal(again.statusCode, 200)
  })

  test('security headers on success and on errors; no HSTS over plain HTTP', async () => {
    const json = [
      await t.app.inject({ method: 'GET', url: '/healthz' }),
      await t.app.inject({ method: 'GET', url: '/missing' }),
      await t.app.inject({ method: 'GET', url: '/test/boom' }),
      await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x' } }), // 403: no CSRF token
    ]
    const pages = [
      await t.app.inject({ method: 'GET', url: '/login' }),
      await t.app.inject({ method: 'GET', url: '/missing', headers: { accept: 'text/html' } }),
    ]
    assert.deepEqual(
      [...json, ...pages].map((res) => res.statusCode),
      [200, 404, 500, 403, 200, 404],
    )
    for (const res of [...json, ...pages]) {
      assert.doesNotMatch(String(res.headers['content-security-policy']), /unsafe-inline/)
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/)
      assert.equal(res.headers['x-content-type-options'], 'nosniff')
      assert.equal(res.headers['x-frame-options'], 'DENY')
      assert.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin')
      assert.equal(res.headers['cross-origin-resource-policy'], 'same-origin')
      assert.equal(res.headers['strict-transport-security'], undefined)
      assert.equal(res.headers['x-powered-by'], undefined)
    }
    // JSON is data: nothing may load or run; the headers that only govern documents are left out.
    for (const res of json) {
      assert.match(String(res.headers['content-type']), /^application\/json/)
      assert.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';sandbox")
      assert.equal(res.headers['cross-origin-opener-policy'], undefined)
    }
    // A page loads our own scripts and stylesheet, and is isolated from the window that opened it.
    for (const res of pages) {
      assert.match(String(res.headers['content-type']), /^text\/html/)
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/)
      assert.match(String(res.headers['content-security-policy']), /object-src 'none'/)
      assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin')
    }
  })

  test('an error replacing a page after its headers were chosen gets the JSON set instead, not a mix', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/test/page-then-boom' })
    assert.equal(res.statusCode, 500)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';sandbox")
    assert.equal(res.headers['cross-origin-opener-policy'], undefined)
    assert.equal(res.headers['origin-agent-cluster'], undefined)
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
  })

  test('the header sets come from their policies: frozen, frame denial, no HSTS in the set', () => {
    for (const policy of [DOCUMENT_HEADER_POLICY, DATA_HEADER_POLICY]) {
      const headers = computeSecurityHeaders(policy)
      assert.ok(Object.isFrozen(headers))
      assert.match(headers['content-security-policy']!, /frame-ancestors 'none'/)
      assert.equal(headers['x-frame-options'], 'DENY')
      // HSTS is added per request, and only over HTTPS.
      assert.equal(headers['strict-transport-security'], undefined)
    }
  })
})

describe('HSTS behind a trusted TLS proxy', () => {
  test('sent when the request arrived over HTTPS', async () => {
    const t = await buildTestApp({ env: { TRUST_PROXY: '127.0.0.1' } })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-proto': 'https' } })
      assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/)
    } finally {
      await t.close()
    }
  })

  test('ignored from an untrusted client', async () => {
    const t = await buildTestApp()
    try {
      const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-proto': 'https' } })
      assert.equal(res.headers['strict-transport-security'], undefined)
    } finally {
      await t.close()
    }
  })
})

describe('security events', () => {
  test('securityEvent logs the decision with the request fields, its standard level, and no secrets', async () => {
    const { securityEvent } = await import('../../src/http/request-context.ts')
    const t = await buildTestApp({
      routes: (app) =>
        app.get('/test/deny', { config: { access: 'public' } }, async (req) => {
          securityEvent(req, 'permission_denied', { route: '/test/deny', token: 'secret-token-value' })
          securityEvent(req, 'admin_action', { action: 'noop' })
          return {}
        }),
    })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/test/deny', headers: { 'user-agent': 'probe/1' } })
      const denied = t.events('permission_denied')[0]!
      assert.equal(denied.level, 'WARNING')
      assert.equal(denied.request_id, res.headers['x-request-id'])
      assert.equal(denied.user_agent, 'probe/1')
      assert.equal(denied.user_id, null)
      assert.deepEqual(denied.extra, { route: '/test/deny', token: '[REDACTED]' })
      assert.equal(t.events('admin_action')[0]!.level, 'INFO')
    } finally {
      await t.close()
    }
  })
})

describe('database outages', () => {
  test('a query failing because the database is unreachable is a 503, logged as database_unavailable', async () => {
    const t = await buildTestApp({
      routes: (app) =>
        app.get('/test/db-down', { config: { access: 'public' } }, async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
        }),
    })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/test/db-down' })
      assert.equal(res.statusCode, 503)
      assert.deepEqual(res.json(), { error: 'Service unavailable', request_id: res.headers['x-request-id'] })
      assert.equal(t.events('database_unavailable').length, 1)
      assert.equal(t.events('unhandled_error').length, 0)
    } finally {
      await t.close()
    }
  })

  test('isDatabaseUnavailable knows connection failures from bugs', async () => {
    const { isDatabaseUnavailable } = await import('../../src/http/error-handler.ts')
    assert.equal(
      isDatabaseUnavailable({ code: '57P01', message: 'terminating connection due to administrator command' }),
      true,
    )
    assert.equal(isDatabaseUnavailable({ message: 'Connection terminated unexpectedly' }), true)
    assert.equal(isDatabaseUnavailable({ message: 'timeout exceeded when trying to connect' }), true)
    assert.equal(isDatabaseUnavailable({ code: '23505', message: 'duplicate key value' }), false)
    assert.equal(isDatabaseUnavailable({ message: 'Cannot read properties of undefined' }), false)
  })
})

describe('JSON bodies', () => {
  test('an empty body labelled JSON is no body: accepted where none is needed, refused where one is', async () => {
    const t = await buildTestApp({
      routes: (app) => {
        app.post('/test/no-body', { config: { access: 'public' } }, async (req) => ({ body: req.body ?? null }))
        app.post('/test/needs-body', {
          config: { access: 'public' },
          schema: { body: { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } } },
          handler: async () => ({}),
        })
      },
    })
    const agent = createAgent(t.app)
    try {
      const empty = { payload: '', headers: { 'content-type': 'application/json' } }
      const free = await agent.post('/test/no-body', empty)
      assert.equal(free.statusCode, 200)
      assert.deepEqual(free.json(), { body: null })
      const needed = await agent.post('/test/needs-body', empty)
      assert.equal(needed.statusCode, 400)
      const poisoned = await agent.post('/test/no-body', {
        payload: '{"__proto__": {"admin": true}}',
        headers: { 'content-type': 'application/json' },
      })
      assert.equal(poisoned.statusCode, 400)
    } finally {
      await t.close()
    }
  })
})

describe('a client that resets its connection', () => {
  test('still gets both request lines, valid JSON, with an empty remote_addr (499 when its answer could not go out)', async () => {
    const t = await buildTestApp()
    try {
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = new URL(address)
      for (let attempt = 0; attempt < 5; attempt++) {
        const socket = connect({ port: Number(port), host: '127.0.0.1' })
        await new Promise<void>((resolve) => socket.once('connect', resolve))
        socket.write('GET /healthz HTTP/1.1\r\nHost: lectern.test\r\n\r\n')
        socket.resetAndDestroy() // RST: the server can no longer read the peer's address
      }
      // The server serves what it parsed; wait (bounded) until all five completions are logged.
      const deadline = Date.now() + 5000
      while (t.events('request_complete').length < 5 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const complete = t.events('request_complete')
      assert.equal(complete.length, 5)
      for (const line of complete) {
        assert.ok(line.remote_addr === '' || line.remote_addr === '127.0.0.1')
        // Served before the reset was seen (200), or logged as the client closing first (499).
        assert.ok(line.status_code === 200 || line.status_code === 499, String(line.status_code))
      }
    } finally {
      await t.close() // fails if any line was not JSON or broke docs/log-schema.json
    }
  })
})

describe('a client that goes away while its request is being served', () => {
  test('its request is logged complete once, with 499 and the reason, and counted in the metrics', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    const t = await buildTestApp({
      routes: (app) => app.get('/test/held', { config: { access: 'public' } }, async () => held.then(() => ({}))),
    })
    try {
      const { port } = new URL(await t.app.listen({ port: 0, host: '127.0.0.1' }))
      const socket = connect({ port: Number(port), host: '127.0.0.1' })
      await new Promise<void>((resolve) => socket.once('connect', resolve))
      socket.write('GET /test/held HTTP/1.1\r\nHost: lectern.test\r\n\r\n')
      const deadline = Date.now() + 5000
      while (t.events('request_received').length < 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      socket.destroy()
      while (t.events('request_complete').length < 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      release()
      await new Promise((resolve) => setTimeout(resolve, 50)) // the handler finishes: no second line
      const complete = t.events('request_complete')
      assert.equal(complete.length, 1)
      assert.equal(complete[0]!.status_code, 499)
      assert.deepEqual(complete[0]!.error, { type: 'ClientClosedRequest', message: 'Client closed the request' })
      assert.equal(complete[0]!.request_id, t.events('request_received')[0]!.request_id)
    } finally {
      release()
      await t.close()
    }
  })
})

describe('bytes that never become a request', () => {
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

  test('a broken request line or header, or oversized headers: the contract error, id, headers, log lines', async () => {
    const t = await buildTestApp()
    try {
      const { port } = new URL(await t.app.listen({ port: 0, host: '127.0.0.1' }))
      const cases: Array<[string, number, string]> = [
        ['GET / HTTP/1.1\r\nHost: lectern.test\r\nno colon here\r\n\r\n', 400, 'Malformed request'],
        ['NOT HTTP AT ALL\r\n\r\n', 400, 'Malformed request'],
        [
          `GET / HTTP/1.1\r\nHost: lectern.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
          431,
          'Request headers too large',
        ],
      ]
      for (const [raw, statusCode, message] of cases) {
        const response = await exchange(Number(port), raw)
        const [head = '', body = ''] = response.split('\r\n\r\n')
        assert.match(head, new RegExp(`^HTTP/1\\.1 ${statusCode} `))
        const id = /^x-request-id: (\S+)$/m.exec(head)?.[1]
        assert.match(String(id), /^[0-9a-f-]{36}$/)
        assert.deepEqual(JSON.parse(body), { error: message, request_id: id })
        assert.match(head, /^content-security-policy: default-src 'none';frame-ancestors 'none';sandbox$/m)
        assert.match(head, /^x-content-type-options: nosniff$/m)
        assert.match(head, /^content-length: \d+$/m)
        const lines = t.logs().filter((l) => l.request_id === id)
        assert.deepEqual(
          lines.map((l) => [l.event, l.status_code, l.method, l.remote_addr]),
          [
            ['request_received', undefined, '', '127.0.0.1'],
            ['request_complete', statusCode, '', '127.0.0.1'],
          ],
        )
        assert.deepEqual(lines[1]!.error, { type: 'HttpError', message })
      }
    } finally {
      await t.close() // fails if any line broke docs/log-schema.json
    }
  })
})
