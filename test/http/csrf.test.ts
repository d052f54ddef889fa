import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import multipart from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/schema.ts'
import { csrfCheckedParts } from '../../src/security/csrf/index.ts'
import { createAgent, formBody, multipartBody, type Agent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { makePng } from '../support/images.ts'

const MISSING = 'CSRF token missing'
const INVALID = 'CSRF token invalid'
const EXPIRED = 'CSRF token expired'
const HOUR_MS = 60 * 60 * 1000
const UNSAFE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const
/** Every request here comes from one address: the rate limits have suites of their own. */
const GENEROUS_LIMITS = {
  RATE_LIMIT_LOGIN: '1000/15m',
  RATE_LIMIT_LOGIN_USER: '1000/15m',
  RATE_LIMIT_REGISTER: '1000/1h',
}

/** What the test routes saw: a handler that ran or a file part that was read is a state change. */
interface Seen {
  handled: number
  filesRead: number
  preParsing: number
}

function csrfRoutes(seen: Seen, db: () => Kysely<Database>) {
  return (app: FastifyInstance) => {
    for (const method of UNSAFE_METHODS) {
      app.route({
        config: { access: 'public' },
        method,
        url: '/test/state',
        handler: async (req) => {
          seen.handled += 1
          return { changed: true, method: req.method }
        },
      })
    }
    app.get('/test/state', { config: { access: 'public' } }, async () => ({ read: true }))
    // Counts requests whose body Fastify started to read.
    app.post('/test/body', {
      config: { access: 'public' },
      bodyLimit: 16 * 1024 * 1024,
      preParsing: async (_req, _reply, payload) => {
        seen.preParsing += 1
        return payload
      },
      handler: async () => {
        seen.handled += 1
        return { changed: true }
      },
    })
    app.post<{ Body: { name: string } }>(
      '/test/form',
      {
        config: { access: 'public' },
        schema: {
          body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } },
        },
      },
      async (req) => {
        seen.handled += 1
        return { received: req.body }
      },
    )
    app.post('/test/sign-in', { config: { access: 'public' } }, async (req) => {
      await req.session.signIn(await testUser(db()))
      return { ok: true }
    })
    app.post('/test/sign-out', { config: { access: 'public' } }, async (req, reply) => {
      await req.session.signOut()
      return reply.code(204).send()
    })
    // Multipart routes live in their own context with @fastify/multipart, as the avatar route will.
    void app.register(async (child) => {
      await child.register(multipart, { limits: { fileSize: 1024 * 1024 } })
      child.post('/test/upload', { config: { access: 'public', csrf: 'multipart' } }, async (req) => {
        const fields: string[] = []
        for await (const part of csrfCheckedParts(req, req.parts())) {
          if (part.type === 'file') {
            seen.filesRead += 1
            await part.toBuffer()
          }
          fields.push(part.fieldname)
        }
        seen.handled += 1
        return { fields }
      })
      // A route that declares multipart CSRF and then forgets to check the field.
      child.post('/test/upload-forgetful', { config: { access: 'public', csrf: 'multipart' } }, async (req) => {
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            seen.filesRead += 1
            await part.toBuffer()
          }
        }
        seen.handled += 1
        return { stored: true }
      })
      // The same mistake on a route that answers with a page, as the profile page's upload does.
      child.post(
        '/test/upload-forgetful-page',
        { config: { access: 'public', csrf: 'multipart' } },
        async (req, reply) => {
          for await (const part of req.parts()) if (part.type === 'file') await part.toBuffer()
          return reply.type('text/html; charset=utf-8').send('<p>stored</p>')
        },
      )
      // Reads multipart without declaring it: such requests need a header token.
      child.post('/test/upload-undeclared', { config: { access: 'public' } }, async (req) => {
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            seen.filesRead += 1
            await part.toBuffer()
          }
        }
        seen.handled += 1
        return { stored: true }
      })
    })
  }
}

/** A user to sign in through the session interface, independent of the accounts module. */
async function testUser(db: Kysely<Database>): Promise<number> {
  const existing = await db.selectFrom('users').select('id').where('username_lower', '=', 'csrf').executeTakeFirst()
  if (existing) return existing.id
  const row = await db
    .insertInto('users')
    .values({
      username: 'csrf',
      username_lower: 'csrf',
      email: 'csrf@example.org',
      email_lower: 'csrf@example.org',
      password_hash: 'x',
      display_name: '',
      bio: '',
      role: 'learner',
      disabled: 0,
      created_at: 0,
      updated_at: 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

function assertRejected(res: AgentResponse, message: string) {
  assert.equal(res.statusCode, 403, res.body)
  assert.deepEqual(res.json(), { error: message, request_id: res.headers['x-request-id'] })
}

async function newTestApp(seen: Seen, env: Record<string, string> = {}): Promise<TestApp> {
  let db: Kysely<Database> | null = null
  const t = await buildTestApp({ env, routes: csrfRoutes(seen, () => db!) })
  db = t.database.db
  return t
}

describe('CSRF: the token endpoint (CONTRACT §4)', () => {
  const seen: Seen = { handled: 0, filesRead: 0, preParsing: 0 }
  let t: TestApp
  before(async () => {
    t = await newTestApp(seen)
  })
  after(() => t.close())

  test('GET /csrf-token → 200 {"csrf_token"}, not cacheable, and starts a session', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/csrf-token' })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(Object.keys(res.json()), ['csrf_token'])
    assert.equal(typeof res.json().csrf_token, 'string')
    assert.match(String(res.headers['cache-control']), /no-store/)
    assert.ok(res.cookies.some((c) => c.name === 'lectern_session' && c.value.length === 43))
  })

  test('token format: 75 characters of base64url', async () => {
    const token = await createAgent(t.app).freshCsrfToken()
    assert.match(token, /^[A-Za-z0-9_-]{75}$/)
  })

  test('every call returns a different string; all stay valid for the session', async () => {
    const agent = createAgent(t.app)
    const tokens = []
    for (let i = 0; i < 10; i++) tokens.push(await agent.freshCsrfToken())
    assert.equal(new Set(tokens).size, 10)
    const session = agent.sessionCookie()
    for (const token of tokens) {
      assert.equal((await agent.post('/test/state', { csrf: token })).statusCode, 200)
    }
    assert.equal(agent.sessionCookie(), session, 'one session throughout')
  })

  test('a second GET /csrf-token keeps the session (no new cookie)', async () => {
    const agent = createAgent(t.app)
    await agent.get('/csrf-token')
    const res = await agent.get('/csrf-token')
    assert.equal(res.cookies.length, 0)
  })
})

describe('CSRF: the guard (CONTRACT §4)', () => {
  const seen: Seen = { handled: 0, filesRead: 0, preParsing: 0 }
  let t: TestApp
  let agent: Agent
  before(async () => {
    t = await newTestApp(seen, { CSRF_TOKEN_TTL: '1h' })
    agent = createAgent(t.app)
  })
  after(() => t.close())

  test('POST without a token → 403 "CSRF token missing", logged as csrf_violation, handler not run', async () => {
    const handled = seen.handled
    const res = await agent.post('/test/state', { csrf: false })
    assertRejected(res, MISSING)
    assert.equal(seen.handled, handled)
    const line = t.events('csrf_violation').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal(line?.level, 'WARNING')
    assert.deepEqual(line?.extra, { result: 'missing', check: 'token', source: 'none', reason: 'missing' })
    const complete = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
    assert.deepEqual(complete?.error, { type: 'HttpError', message: MISSING })
  })

  test('POST with a valid token (X-CSRFToken) → accepted', async () => {
    const res = await agent.post('/test/state')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { changed: true, method: 'POST' })
  })

  test('the X-CSRF-Token alias is accepted too', async () => {
    const token = await agent.csrfToken()
    const res = await agent.post('/test/state', { csrf: false, headers: { 'x-csrf-token': token } })
    assert.equal(res.statusCode, 200)
  })

  test('an empty header counts as no token: "CSRF token missing"', async () => {
    assertRejected(await agent.post('/test/state', { csrf: false, headers: { 'x-csrftoken': '' } }), MISSING)
  })

  test('an invalid token → 403 "CSRF token invalid" (tampered, random, truncated, empty-ish)', async () => {
    const token = await agent.csrfToken()
    const flipped = token.slice(0, 30) + (token[30] === 'A' ? 'B' : 'A') + token.slice(31)
    for (const bad of [flipped, 'x'.repeat(75), token.slice(0, 74), 'not a token', ' ']) {
      const res = await agent.post('/test/state', { csrf: bad })
      assertRejected(res, INVALID)
    }
    const line = t.events('csrf_violation').at(-1)
    assert.equal((line?.extra as { result: string }).result, 'invalid')
  })

  test('an expired token → 403 "CSRF token expired"; 1 ms before CSRF_TOKEN_TTL it passes', async () => {
    const token = await agent.freshCsrfToken()
    t.clock.advance(HOUR_MS - 1)
    assert.equal((await agent.post('/test/state', { csrf: token })).statusCode, 200)
    t.clock.advance(1)
    assertRejected(await agent.post('/test/state', { csrf: token }), EXPIRED)
    // A fresh one works: the session itself lived on.
    assert.equal((await agent.post('/test/state', { csrf: await agent.freshCsrfToken() })).statusCode, 200)
  })

  test('a token of another session → 403 "CSRF token invalid"', async () => {
    const other = createAgent(t.app)
    const theirs = await other.freshCsrfToken()
    assertRejected(await agent.post('/test/state', { csrf: theirs }), INVALID)
    // And with no session cookie at all.
    assertRejected(await agent.post('/test/state', { csrf: theirs, withoutCookies: true }), INVALID)
  })

  test('tokens are rejected after login rotation', async () => {
    const victim = createAgent(t.app)
    const before = await victim.freshCsrfToken()
    assert.equal((await victim.post('/test/sign-in')).statusCode, 200)
    assertRejected(await victim.post('/test/state', { csrf: before }), INVALID)
    assert.equal((await victim.post('/test/state')).statusCode, 200, 'a new token works')
  })

  test('tokens are rejected after logout (with the old cookie replayed, or without it)', async () => {
    const user = createAgent(t.app)
    await user.post('/test/sign-in')
    const token = await user.freshCsrfToken()
    const oldCookie = user.sessionCookie()!
    assert.equal((await user.post('/test/sign-out')).statusCode, 204)
    assertRejected(await user.post('/test/state', { csrf: token }), INVALID)
    user.setCookie('lectern_session', oldCookie)
    assertRejected(await user.post('/test/state', { csrf: token }), INVALID)
  })

  for (const method of UNSAFE_METHODS) {
    test(`${method} is protected: refused without a token, accepted with one`, async () => {
      assertRejected(await agent.request({ method, url: '/test/state', csrf: false }), MISSING)
      const res = await agent.request({ method, url: '/test/state' })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().method, method)
    })
  }

  test('GET, HEAD and OPTIONS never need a token', async () => {
    const fresh = createAgent(t.app)
    assert.equal((await fresh.get('/test/state', { csrf: false })).statusCode, 200)
    assert.equal((await fresh.head('/test/state', { csrf: false })).statusCode, 200)
    assert.equal((await fresh.options('/test/state', { csrf: false })).statusCode, 204)
  })

  test('every path is guarded: an unknown path answers 403 before 404, and other methods too', async () => {
    assertRejected(await agent.post('/no/such/path', { csrf: false }), MISSING)
    assert.equal((await agent.post('/no/such/path')).statusCode, 404)
    assertRejected(await agent.request({ method: 'PROPFIND', url: '/test/state', csrf: false }), MISSING)
  })

  test('HTML form: the csrf_token field is accepted (and removed before the schema sees it)', async () => {
    const token = await agent.csrfToken()
    const res = await agent.post('/test/form', {
      csrf: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: formBody({ name: 'Ada' }, token),
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { received: { name: 'Ada' } })
    // The agent's own form support does the same.
    const viaAgent = await agent.post('/test/form', { form: { name: 'Bob' }, csrfIn: 'field' })
    assert.deepEqual(viaAgent.json(), { received: { name: 'Bob' } })
  })

  test('HTML form: a missing, wrong or repeated field is refused', async () => {
    const token = await agent.csrfToken()
    const post = (payload: string) =>
      agent.post('/test/form', {
        csrf: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      })
    assertRejected(await post(formBody({ name: 'Ada' })), MISSING)
    assertRejected(await post(formBody({ name: 'Ada' }, 'x'.repeat(75))), INVALID)
    assertRejected(await post(`csrf_token=${token}&csrf_token=${token}&name=Ada`), INVALID)
  })

  test('a token in the query string is never read', async () => {
    const token = await agent.csrfToken()
    const res = await agent.post(`/test/state?csrf_token=${token}`, { csrf: false })
    assertRejected(res, MISSING)
    const line = t.events('csrf_violation').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal((line?.extra as { reason: string }).reason, 'query_string_ignored')
    const form = await agent.post(`/test/form?csrf_token=${token}`, {
      csrf: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=Ada',
    })
    assertRejected(form, MISSING)
  })

  test('no token value ever reaches a log line', async () => {
    const token = await agent.freshCsrfToken()
    await agent.post(`/test/state?csrf_token=${token}`, { csrf: false })
    await agent.post('/test/state', { csrf: token })
    assert.ok(!JSON.stringify(t.logs()).includes(token))
  })
})

describe('CSRF: Fetch Metadata and Origin (defence in depth)', () => {
  const seen: Seen = { handled: 0, filesRead: 0, preParsing: 0 }
  let t: TestApp
  let agent: Agent
  before(async () => {
    t = await newTestApp(seen)
    agent = createAgent(t.app, { headers: { host: 'lectern.example:3000' } })
  })
  after(() => t.close())

  test('Sec-Fetch-Site: cross-site is refused even with a valid token', async () => {
    const res = await agent.post('/test/state', { headers: { 'sec-fetch-site': 'cross-site' } })
    assertRejected(res, INVALID)
    const line = t.events('csrf_violation').find((l) => l.request_id === res.headers['x-request-id'])
    assert.deepEqual(line?.extra, {
      result: 'invalid',
      check: 'fetch_metadata',
      reason: 'cross_site_request',
      sec_fetch_site: 'cross-site',
    })
  })

  test('Sec-Fetch-Site: same-site is refused (a sibling subdomain is another site to us)', async () => {
    assertRejected(await agent.post('/test/state', { headers: { 'sec-fetch-site': 'same-site' } }), INVALID)
  })

  test('Sec-Fetch-Site: same-origin and none are allowed (with a token)', async () => {
    for (const site of ['same-origin', 'none']) {
      assert.equal((await agent.post('/test/state', { headers: { 'sec-fetch-site': site } })).statusCode, 200, site)
    }
  })

  test('Sec-Fetch-Site decides when present, even with a mismatched Origin', async () => {
    const res = await agent.post('/test/state', {
      headers: { 'sec-fetch-site': 'same-origin', origin: 'http://elsewhere.example' },
    })
    assert.equal(res.statusCode, 200)
  })

  test('no Sec-Fetch-Site: an Origin that is not ours is refused, even with a valid token', async () => {
    for (const origin of [
      'http://evil.example',
      'https://lectern.example:3000',
      'http://lectern.example:3001',
      'null',
    ]) {
      const res = await agent.post('/test/state', { headers: { origin } })
      assertRejected(res, INVALID)
    }
    const line = t.events('csrf_violation').at(-1)
    assert.equal((line?.extra as { check: string }).check, 'origin')
  })

  test('no Sec-Fetch-Site: our own Origin (protocol://host) is allowed', async () => {
    const res = await agent.post('/test/state', { headers: { origin: 'http://lectern.example:3000' } })
    assert.equal(res.statusCode, 200)
    const upper = await agent.post('/test/state', { headers: { origin: 'http://LECTERN.example:3000' } })
    assert.equal(upper.statusCode, 200)
  })

  test('neither header (a non-browser client): the token decides', async () => {
    assert.equal((await agent.post('/test/state')).statusCode, 200)
    assertRejected(await agent.post('/test/state', { csrf: false }), MISSING)
  })

  test('a cross-site form post is refused before its body is parsed', async () => {
    const before = seen.handled
    const res = await agent.post('/test/form', {
      csrf: false,
      headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
      payload: formBody({ name: 'x' }, await agent.csrfToken()),
    })
    assertRejected(res, INVALID)
    assert.equal(seen.handled, before)
  })

  test('behind a trusted TLS proxy our origin is https://host', async () => {
    const proxied = await newTestApp({ handled: 0, filesRead: 0, preParsing: 0 }, { TRUST_PROXY: '127.0.0.1' })
    try {
      const viaTls = createAgent(proxied.app, { headers: { host: 'lectern.example', 'x-forwarded-proto': 'https' } })
      assert.equal(
        (await viaTls.post('/test/state', { headers: { origin: 'https://lectern.example' } })).statusCode,
        200,
      )
      assertRejected(await viaTls.post('/test/state', { headers: { origin: 'http://lectern.example' } }), INVALID)
    } finally {
      await proxied.close()
    }
  })
})

describe('CSRF: bodies are not read for a rejected request', () => {
  const seen: Seen = { handled: 0, filesRead: 0, preParsing: 0 }
  let t: TestApp
  before(async () => {
    t = await newTestApp(seen)
  })
  after(() => t.close())

  test('in-process: a 5 MB body without a token is refused before parsing starts', async () => {
    const before = seen.preParsing
    const res = await t.app.inject({
      method: 'POST',
      url: '/test/body',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ blob: 'x'.repeat(5 * 1024 * 1024) }),
    })
    assertRejected(res, MISSING)
    assert.equal(res.headers.connection, 'close')
    assert.equal(seen.preParsing, before, 'preParsing never ran: the body was not read')
  })

  test('over a socket: the 403 arrives without the body being sent, and the connection is closed', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const address = t.app.server.address()
    assert.ok(address && typeof address === 'object')
    const declaredBytes = 5 * 1024 * 1024
    const received = await new Promise<{ text: string; closedByServer: boolean }>((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1')
      let text = ''
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`no answer without the body; got: ${text.slice(0, 200)}`))
      }, 5000)
      socket.on('data', (chunk) => (text += chunk.toString('latin1')))
      socket.on('end', () => {
        clearTimeout(timer)
        socket.destroy()
        resolve({ text, closedByServer: true })
      })
      socket.on('error', reject)
      socket.write(
        `POST /test/body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${declaredBytes}\r\n\r\n`,
      )
      socket.write('{"blob":"' + 'x'.repeat(1024)) // 1 KB of the 5 MB, then nothing
    })
    assert.match(received.text, /^HTTP\/1\.1 403 /)
    assert.match(received.text, /connection: close/i)
    assert.match(received.text, /CSRF token missing/)
    assert.ok(received.closedByServer)
    assert.equal(seen.preParsing, 0)
  })
})

describe('CSRF: multipart forms (the token field comes first)', () => {
  const seen: Seen = { handled: 0, filesRead: 0, preParsing: 0 }
  let t: TestApp
  let agent: Agent
  const file = { name: 'avatar', filename: 'a.png', contentType: 'image/png', data: Buffer.alloc(2048, 1) }
  before(async () => {
    t = await newTestApp(seen)
    agent = createAgent(t.app)
  })
  after(() => t.close())

  const upload = async (url: string, parts: Parameters<typeof multipartBody>[0], token?: string | null) => {
    const body = multipartBody(parts, { csrfToken: token })
    return agent.post(url, { csrf: false, headers: body.headers, payload: body.payload })
  }

  test('csrf_token first, then the file → accepted; the token field is consumed by the check', async () => {
    const res = await upload('/test/upload', [file], await agent.csrfToken())
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { fields: ['avatar'] })
  })

  test('the agent builds the same with csrfIn: "field"', async () => {
    const res = await agent.post('/test/upload', { multipart: [file], csrfIn: 'field' })
    assert.deepEqual(res.json(), { fields: ['avatar'] })
  })

  test('no token → 403 missing, and no file part was read', async () => {
    const before = { ...seen }
    assertRejected(await upload('/test/upload', [file]), MISSING)
    assert.equal(seen.filesRead, before.filesRead)
    assert.equal(seen.handled, before.handled)
  })

  test('the file before the token → 403 missing, and the file was not read', async () => {
    const before = seen.filesRead
    const token = await agent.csrfToken()
    const res = await upload('/test/upload', [file, { name: 'csrf_token', value: token }])
    assertRejected(res, MISSING)
    assert.equal(seen.filesRead, before)
    const line = t.events('csrf_violation').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal((line?.extra as { reason: string }).reason, 'not_first_part')
  })

  test('a wrong or expired token field → invalid / expired, no file read', async () => {
    const before = seen.filesRead
    const wrong = await upload('/test/upload', [file], 'x'.repeat(75))
    assertRejected(wrong, INVALID)
    const lines = t.events('csrf_violation').filter((l) => l.request_id === wrong.headers['x-request-id'])
    assert.equal(lines.length, 1, 'one decision, logged once')
    const old = await agent.freshCsrfToken()
    t.clock.advance(HOUR_MS)
    assertRejected(await upload('/test/upload', [file], old), EXPIRED)
    assert.equal(seen.filesRead, before)
  })

  test('a header token works for multipart too (scripts send X-CSRFToken)', async () => {
    const res = await agent.post('/test/upload', { multipart: [file] })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { fields: ['avatar'] })
  })

  test('fail closed: a multipart route that never checks the field does not get its answer out', async () => {
    const res = await upload('/test/upload-forgetful', [file], await agent.csrfToken())
    assertRejected(res, MISSING)
    assert.equal(res.headers.connection, 'close')
    const line = t.events('csrf_violation').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal((line?.extra as { reason: string }).reason, 'not_verified_by_route')
    const complete = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal(complete?.status_code, 403)

    // A page turned into a JSON 403 carries the JSON security headers, not the page's.
    const page = await upload('/test/upload-forgetful-page', [file], await agent.csrfToken())
    assertRejected(page, MISSING)
    assert.match(String(page.headers['content-type']), /^application\/json/)
    assert.equal(page.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';sandbox")
    assert.equal(page.headers['cross-origin-opener-policy'], undefined)
  })

  test('multipart to a route that did not declare it: refused before the body is read unless a header token came', async () => {
    const before = seen.filesRead
    assertRejected(await upload('/test/upload-undeclared', [file], await agent.csrfToken()), MISSING)
    assert.equal(seen.filesRead, before)
    assert.equal((await agent.post('/test/upload-undeclared', { multipart: [file] })).statusCode, 200)
  })
})

describe('CSRF on the accounts routes (CONTRACT §4, §5)', () => {
  let t: TestApp
  before(async () => {
    // This suite registers more accounts from one address than RATE_LIMIT_REGISTER allows an
    // hour; the limits themselves are tested in test/http/rate-limit*.test.ts.
    t = await buildTestApp({ env: GENEROUS_LIMITS })
  })
  after(() => t.close())

  const PASSWORD = 'an-unusual-passphrase-for-csrf-42'
  let counter = 0
  const newAccount = () => {
    counter += 1
    return { username: `csrf_user${counter}`, email: `csrf${counter}@example.org`, password: PASSWORD }
  }
  const userCount = async () => (await t.database.db.selectFrom('users').select('id').execute()).length

  test('POST /api/register: refused without a token (nobody created), 201 with one', async () => {
    const agent = createAgent(t.app)
    const account = newAccount()
    const before = await userCount()
    assertRejected(await agent.post('/api/register', { json: account, csrf: false }), MISSING)
    assert.equal(await userCount(), before)
    const res = await agent.post('/api/register', { json: account })
    assert.equal(res.statusCode, 201, res.body)
    assert.equal(res.json().user.username, account.username)
  })

  test('POST /api/login: refused without a token (not signed in), 200 with one', async () => {
    const account = newAccount()
    const owner = createAgent(t.app)
    assert.equal((await owner.post('/api/register', { json: account })).statusCode, 201)
    const agent = createAgent(t.app)
    const credentials = { username: account.username, password: account.password }
    assertRejected(await agent.post('/api/login', { json: credentials, csrf: false }), MISSING)
    assert.equal((await agent.get('/api/me')).statusCode, 401)
    const res = await agent.post('/api/login', { json: credentials })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal((await agent.get('/api/me')).statusCode, 200)
  })

  test("login CSRF: a token from the attacker's own session does not sign the victim's browser in", async () => {
    const account = newAccount()
    assert.equal((await createAgent(t.app).post('/api/register', { json: account })).statusCode, 201)
    const attacker = createAgent(t.app)
    const attackerToken = await attacker.freshCsrfToken()
    const victim = createAgent(t.app)
    await victim.get('/csrf-token') // the victim's browser has its own session
    const res = await victim.post('/api/login', {
      json: { username: account.username, password: account.password },
      csrf: attackerToken,
    })
    assertRejected(res, INVALID)
    assert.equal((await victim.get('/api/me')).statusCode, 401)
  })

  test('login rotates the session: the pre-login token is rejected afterwards', async () => {
    const account = newAccount()
    assert.equal((await createAgent(t.app).post('/api/register', { json: account })).statusCode, 201)
    const agent = createAgent(t.app)
    const preLogin = await agent.freshCsrfToken()
    const cookieBefore = agent.sessionCookie()
    const login = await agent.post('/api/login', {
      json: { username: account.username, password: account.password },
      csrf: preLogin,
    })
    assert.equal(login.statusCode, 200)
    assert.notEqual(agent.sessionCookie(), cookieBefore)
    assertRejected(await agent.patch('/api/profile', { json: { bio: 'x' }, csrf: preLogin }), INVALID)
    assert.equal((await agent.patch('/api/profile', { json: { bio: 'x' } })).statusCode, 200)
  })

  test('POST /api/logout: refused without a token (still signed in), 204 with one; its tokens die with it', async () => {
    const agent = createAgent(t.app)
    assert.equal((await agent.post('/api/register', { json: newAccount() })).statusCode, 201)
    const token = await agent.freshCsrfToken()
    assertRejected(await agent.post('/api/logout', { csrf: false }), MISSING)
    assert.equal((await agent.get('/api/me')).statusCode, 200)
    assert.equal((await agent.post('/api/logout', { csrf: token })).statusCode, 204)
    assert.equal((await agent.get('/api/me')).statusCode, 401)
    assertRejected(await agent.patch('/api/profile', { json: { bio: 'x' }, csrf: token }), INVALID)
  })

  test('PATCH /api/profile: refused without a token (unchanged), 200 with one', async () => {
    const agent = createAgent(t.app)
    assert.equal((await agent.post('/api/register', { json: newAccount() })).statusCode, 201)
    assertRejected(await agent.patch('/api/profile', { json: { display_name: 'Forged' }, csrf: false }), MISSING)
    assert.notEqual((await agent.get('/api/me')).json().user.display_name, 'Forged')
    const res = await agent.patch('/api/profile', { json: { display_name: 'Ada' } })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().user.display_name, 'Ada')
  })

  test('POST /api/profile/password: refused without a token (password unchanged), 204 with one', async () => {
    const account = newAccount()
    const agent = createAgent(t.app)
    assert.equal((await agent.post('/api/register', { json: account })).statusCode, 201)
    const change = { current_password: PASSWORD, new_password: 'another-unusual-passphrase-43' }
    assertRejected(await agent.post('/api/profile/password', { json: change, csrf: false }), MISSING)
    const res = await agent.post('/api/profile/password', { json: change })
    assert.equal(res.statusCode, 204, res.body)
    // The old password no longer works, so the first attempt had changed nothing and this one did.
    const other = createAgent(t.app)
    const old = await other.post('/api/login', { json: { username: account.username, password: PASSWORD } })
    assert.equal(old.statusCode, 401)
  })
})

describe('CSRF on avatar upload and admin actions (CONTRACT §4, §5)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ env: GENEROUS_LIMITS })
  })
  after(() => t.close())

  const PASSWORD = 'an-unusual-passphrase-for-csrf-42'
  let counter = 0
  const signedUp = async (role: 'learner' | 'admin' = 'learner') => {
    counter += 1
    const agent = createAgent(t.app)
    const res = await agent.post('/api/register', {
      json: { username: `csrf_admin_case${counter}`, email: `csrf-admin${counter}@example.org`, password: PASSWORD },
    })
    assert.equal(res.statusCode, 201, res.body)
    const id = res.json().user.id as number
    if (role === 'admin') await t.database.db.updateTable('users').set({ role }).where('id', '=', id).execute()
    return { agent, id }
  }

  test('POST /api/upload-avatar: refused without a token (nothing stored), 200 with the first field or the header', async () => {
    const { agent } = await signedUp()
    const png = await makePng(64, 48)
    const file = { name: 'avatar', filename: 'me.png', contentType: 'image/png', data: png }
    const bare = multipartBody([file])
    const refused = await agent.post('/api/upload-avatar', {
      csrf: false,
      headers: bare.headers,
      payload: bare.payload,
    })
    assertRejected(refused, MISSING)
    assert.equal((await agent.get('/api/me')).json().user.avatar_url, null)
    const viaField = await agent.post('/api/upload-avatar', { multipart: [file], csrfIn: 'field' })
    assert.equal(viaField.statusCode, 200, viaField.body)
    assert.match(viaField.json().avatar_url, /^\//)
    const viaHeader = await agent.post('/api/upload-avatar', { multipart: [file] })
    assert.equal(viaHeader.statusCode, 200, viaHeader.body)
  })

  test('PATCH /api/admin/users/:id: refused without a token (unchanged), 200 with one', async () => {
    const { agent } = await signedUp('admin')
    const target = await signedUp()
    const url = `/api/admin/users/${target.id}`
    assertRejected(await agent.patch(url, { json: { role: 'instructor' }, csrf: false }), MISSING)
    const unchanged = await t.database.db
      .selectFrom('users')
      .select('role')
      .where('id', '=', target.id)
      .executeTakeFirst()
    assert.equal(unchanged?.role, 'learner')
    const res = await agent.patch(url, { json: { role: 'instructor' } })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().user.role, 'instructor')
  })

  test('DELETE /api/admin/users/:id: refused without a token (still there), 204 with one', async () => {
    const { agent } = await signedUp('admin')
    const target = await signedUp()
    const url = `/api/admin/users/${target.id}`
    assertRejected(await agent.delete(url, { csrf: false }), MISSING)
    assert.ok(await t.database.db.selectFrom('users').select('id').where('id', '=', target.id).executeTakeFirst())
    assert.equal((await agent.delete(url)).statusCode, 204)
    assert.equal(
      await t.database.db.selectFrom('users').select('id').where('id', '=', target.id).executeTakeFirst(),
      undefined,
    )
  })

  test("an admin disabling a user ends that user's sessions at once", async () => {
    const { agent } = await signedUp('admin')
    const target = await signedUp()
    assert.equal((await target.agent.get('/api/me')).statusCode, 200)
    const res = await agent.patch(`/api/admin/users/${target.id}`, { json: { disabled: true } })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal((await target.agent.get('/api/me')).statusCode, 401)
    const rows = await t.database.db.selectFrom('sessions').select('id_hash').where('user_id', '=', target.id).execute()
    assert.deepEqual(rows, [])
  })
})
