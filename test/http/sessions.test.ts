import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/schema.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createSessionStore, defaultSessionPolicy } from '../../src/security/sessions/index.ts'
import {
  SESSION_ANONYMOUS_ABSOLUTE_MS,
  SESSION_USER_ABSOLUTE_MS,
  SESSION_USER_IDLE_MS,
} from '../../src/security/sessions/policy.ts'
import { createAgent, type Agent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createTestDatabase } from '../support/database.ts'
import { testDatabaseUrl } from '../support/services.ts'

const postgresUrl = testDatabaseUrl()
/** The session store's SQL runs on both databases (PostgreSQL given TEST_DATABASE_URL). */
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const
const onDatabase = (kind: (typeof kinds)[number]) =>
  kind === 'postgres' ? { database: kind, postgresUrl } : { database: kind }

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** Routes that drive the session interface directly, as the accounts and admin modules do. */
function sessionRoutes(app: FastifyInstance) {
  app.get('/test/whoami', { config: { access: 'public' } }, async (req) => ({
    user: req.user,
    has_session: req.session.id !== null,
  }))
  app.post<{ Body: { user_id: number } }>(
    '/test/sign-in',
    {
      config: { access: 'public' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['user_id'],
          properties: { user_id: { type: 'integer' } },
        },
      },
    },
    async (req) => {
      await req.session.signIn(req.body.user_id)
      return { user: req.user }
    },
  )
  app.post('/test/sign-out', { config: { access: 'public' } }, async (req, reply) => {
    await req.session.signOut()
    return reply.code(204).send()
  })
  app.post('/test/end-other-sessions', { config: { access: 'public' } }, async (req) => ({
    ended: await app.sessions.endAllForUser(req.user!.id, { except: req }),
  }))
  app.post<{ Params: { id: string } }>('/test/end-all-sessions/:id', { config: { access: 'public' } }, async (req) => ({
    ended: await app.sessions.endAllForUser(Number(req.params.id)),
  }))
  // A GET: a request with no session yet (an unsafe one would already have one, for its CSRF token).
  app.get('/test/ensure-twice', { config: { access: 'public' } }, async (req) => {
    const [a, b] = await Promise.all([req.session.ensure(), req.session.ensure()])
    return { same: a === b && a === req.session.id }
  })
}

let userCounter = 0
async function createUser(db: Kysely<Database>, role: 'learner' | 'instructor' | 'admin' = 'learner') {
  userCounter += 1
  const name = `user${userCounter}`
  const row = await db
    .insertInto('users')
    .values({
      username: name,
      username_lower: name,
      email: `${name}@example.org`,
      email_lower: `${name}@example.org`,
      password_hash: 'not-a-real-hash',
      display_name: '',
      bio: '',
      role,
      disabled: 0,
      created_at: 0,
      updated_at: 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

function setCookies(res: AgentResponse): string[] {
  const header = res.headers['set-cookie']
  return header === undefined ? [] : ([] as string[]).concat(header)
}

function sessionSetCookie(res: AgentResponse, name = 'lectern_session'): string | undefined {
  return setCookies(res).find((line) => line.startsWith(`${name}=`))
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')

async function signedInAgent(t: TestApp, userId: number): Promise<Agent> {
  const agent = createAgent(t.app)
  const res = await agent.post('/test/sign-in', { json: { user_id: userId } })
  assert.equal(res.statusCode, 200)
  return agent
}

describe('sessions: the cookie (CONTRACT §3)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ routes: sessionRoutes })
  })
  after(() => t.close())

  test('a session starts with HttpOnly, SameSite=Lax, Path=/, no Domain, not Secure over plain HTTP', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/csrf-token' })
    const line = sessionSetCookie(res)
    assert.ok(line, `Set-Cookie: ${setCookies(res).join(' | ')}`)
    assert.match(line, /; HttpOnly/i)
    assert.match(line, /; SameSite=Lax/i)
    assert.match(line, /; Path=\/(;|$)/)
    assert.doesNotMatch(line, /; Domain=/i)
    assert.doesNotMatch(line, /; Secure/i)
  })

  test('the cookie holds a 256-bit random value; the database keeps only its SHA-256', async () => {
    const agent = createAgent(t.app)
    await agent.get('/csrf-token')
    const value = agent.sessionCookie()!
    assert.match(value, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(Buffer.from(value, 'base64url').length, 32)
    const rows = await t.database.db.selectFrom('sessions').selectAll().execute()
    assert.ok(rows.some((row) => row.id_hash === sha256(value)))
    assert.ok(
      rows.every((row) => !Object.values(row).includes(value)),
      'the raw value is not stored',
    )
  })

  test('values are unique per session', async () => {
    const values = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const agent = createAgent(t.app)
      await agent.get('/csrf-token')
      values.add(agent.sessionCookie()!)
    }
    assert.equal(values.size, 20)
  })

  test('requests without a cookie, or with an unknown or malformed one, have no session and start none', async () => {
    const before = await t.database.db.selectFrom('sessions').select('id_hash').execute()
    for (const cookie of [undefined, 'lectern_session=' + 'A'.repeat(43), 'lectern_session=junk', 'lectern_session=']) {
      const res = await t.app.inject({ method: 'GET', url: '/test/whoami', headers: cookie ? { cookie } : {} })
      assert.deepEqual(res.json(), { user: null, has_session: false })
    }
    const afterRows = await t.database.db.selectFrom('sessions').select('id_hash').execute()
    assert.equal(afterRows.length, before.length, 'reading a page creates no session')
  })

  test('an unknown cookie is cleared, not adopted: ensure() starts a session with a fresh value (no fixation)', async () => {
    const planted = 'P'.repeat(43)
    const agent = createAgent(t.app)
    agent.setCookie('lectern_session', planted)
    const stale = await agent.get('/test/whoami')
    assert.match(sessionSetCookie(stale) ?? '', /^lectern_session=;/, 'the stale cookie is cleared')
    agent.setCookie('lectern_session', planted)
    await agent.get('/csrf-token')
    assert.notEqual(agent.sessionCookie(), planted)
    const planted_row = await t.database.db
      .selectFrom('sessions')
      .select('id_hash')
      .where('id_hash', '=', sha256(planted))
      .executeTakeFirst()
    assert.equal(planted_row, undefined)
  })

  test('two ensure() calls in one request make one session', async () => {
    const agent = createAgent(t.app)
    const res = await agent.get('/test/ensure-twice')
    assert.deepEqual(res.json(), { same: true })
    assert.equal(setCookies(res).filter((line) => line.startsWith('lectern_session=')).length, 1)
  })
})

describe('sessions: Secure and the __Host- prefix', () => {
  test('COOKIE_SECURE=true: __Host-lectern_session, Secure, Path=/, no Domain', async () => {
    const t = await buildTestApp({ env: { COOKIE_SECURE: 'true' }, routes: sessionRoutes })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/csrf-token' })
      const line = sessionSetCookie(res, '__Host-lectern_session')
      assert.ok(line, setCookies(res).join(' | '))
      assert.match(line, /; Secure/i)
      assert.match(line, /; Path=\/(;|$)/)
      assert.doesNotMatch(line, /; Domain=/i)
      assert.match(line, /; HttpOnly/i)
      assert.match(line, /; SameSite=Lax/i)
      assert.equal(sessionSetCookie(res), undefined, 'no plain-named cookie')
    } finally {
      await t.close()
    }
  })

  test('COOKIE_SECURE=auto: Secure with __Host- when HTTPS arrives through a trusted proxy, plain otherwise', async () => {
    const t = await buildTestApp({ env: { TRUST_PROXY: '127.0.0.1' }, routes: sessionRoutes })
    try {
      const https = await t.app.inject({ method: 'GET', url: '/csrf-token', headers: { 'x-forwarded-proto': 'https' } })
      assert.match(sessionSetCookie(https, '__Host-lectern_session') ?? '', /; Secure/i)
      const http = await t.app.inject({ method: 'GET', url: '/csrf-token' })
      const line = sessionSetCookie(http)
      assert.ok(line)
      assert.doesNotMatch(line, /; Secure/i)
    } finally {
      await t.close()
    }
  })

  test('COOKIE_SECURE=auto: X-Forwarded-Proto from an untrusted client does not make it Secure', async () => {
    const t = await buildTestApp({ routes: sessionRoutes })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/csrf-token', headers: { 'x-forwarded-proto': 'https' } })
      assert.ok(sessionSetCookie(res))
      assert.equal(sessionSetCookie(res, '__Host-lectern_session'), undefined)
    } finally {
      await t.close()
    }
  })

  test('COOKIE_SECURE=false: never Secure, even over HTTPS', async () => {
    const t = await buildTestApp({ env: { COOKIE_SECURE: 'false', TRUST_PROXY: '127.0.0.1' }, routes: sessionRoutes })
    try {
      const res = await t.app.inject({ method: 'GET', url: '/csrf-token', headers: { 'x-forwarded-proto': 'https' } })
      const line = sessionSetCookie(res)
      assert.ok(line)
      assert.doesNotMatch(line, /; Secure/i)
    } finally {
      await t.close()
    }
  })

  test('when Secure, only the __Host- cookie counts: a plain-named (plantable) one is ignored', async () => {
    const t = await buildTestApp({ env: { COOKIE_SECURE: 'true' }, routes: sessionRoutes })
    try {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      const value = agent.cookies['__Host-lectern_session']!
      assert.ok(value)
      const plain = await t.app.inject({
        method: 'GET',
        url: '/test/whoami',
        headers: { cookie: `lectern_session=${value}` },
      })
      assert.equal(plain.json().user, null)
      const host = await t.app.inject({
        method: 'GET',
        url: '/test/whoami',
        headers: { cookie: `__Host-lectern_session=${value}` },
      })
      assert.equal(host.json().user.id, userId)
    } finally {
      await t.close()
    }
  })
})

for (const kind of kinds) {
  describe(`sessions on ${kind}: sign-in, sign-out and rotation`, () => {
    let t: TestApp
    before(async () => {
      t = await buildTestApp({ routes: sessionRoutes, ...onDatabase(kind) })
    })
    after(() => t.close())

    test('signIn rotates the id: a new cookie value, the pre-login session is gone (no fixation)', async () => {
      const userId = await createUser(t.database.db)
      const agent = createAgent(t.app)
      await agent.get('/csrf-token')
      const anonymous = agent.sessionCookie()!
      const res = await agent.post('/test/sign-in', { json: { user_id: userId } })
      assert.equal(res.statusCode, 200)
      const signedIn = agent.sessionCookie()!
      assert.notEqual(signedIn, anonymous)
      const rows = await t.database.db
        .selectFrom('sessions')
        .selectAll()
        .where('id_hash', '=', sha256(anonymous))
        .execute()
      assert.deepEqual(rows, [], 'the anonymous row is deleted')
      // Whoever knew the pre-login value (planted it, read it) is not signed in.
      const old = await t.app.inject({
        method: 'GET',
        url: '/test/whoami',
        headers: { cookie: `lectern_session=${anonymous}` },
      })
      assert.equal(old.json().user, null)
      const now = await agent.get('/test/whoami')
      assert.deepEqual(now.json(), { user: { id: userId, role: 'learner' }, has_session: true })
    })

    test('signing in again (privilege change) rotates again', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      const first = agent.sessionCookie()
      await agent.post('/test/sign-in', { json: { user_id: userId } })
      assert.notEqual(agent.sessionCookie(), first)
      const old = await t.app.inject({
        method: 'GET',
        url: '/test/whoami',
        headers: { cookie: `lectern_session=${first}` },
      })
      assert.equal(old.json().user, null)
    })

    test('request lines carry user_id once signed in (including the sign-in request itself)', async () => {
      const userId = await createUser(t.database.db)
      const agent = createAgent(t.app)
      const signIn = await agent.post('/test/sign-in', { json: { user_id: userId } })
      const me = await agent.get('/test/whoami')
      for (const res of [signIn, me]) {
        const line = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
        assert.equal(line?.user_id, userId)
      }
      const anonymous = await t.app.inject({ method: 'GET', url: '/test/whoami' })
      const line = t.events('request_complete').find((l) => l.request_id === anonymous.headers['x-request-id'])
      assert.equal(line?.user_id, null)
    })

    test('the role is read with the session on every request: a change applies at once', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      await t.database.db.updateTable('users').set({ role: 'instructor' }).where('id', '=', userId).execute()
      assert.deepEqual((await agent.get('/test/whoami')).json().user, { id: userId, role: 'instructor' })
    })

    test('signOut deletes the row and clears the cookie; the old value signs nobody in', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      const value = agent.sessionCookie()!
      const res = await agent.post('/test/sign-out')
      assert.equal(res.statusCode, 204)
      assert.match(sessionSetCookie(res) ?? '', /^lectern_session=;.*Max-Age=0/i)
      assert.equal(agent.sessionCookie(), undefined)
      const replay = await t.app.inject({
        method: 'GET',
        url: '/test/whoami',
        headers: { cookie: `lectern_session=${value}` },
      })
      assert.deepEqual(replay.json(), { user: null, has_session: false })
      const row = await t.database.db
        .selectFrom('sessions')
        .select('id_hash')
        .where('id_hash', '=', sha256(value))
        .execute()
      assert.deepEqual(row, [])
    })

    test("endAllForUser with except: every other session of the user ends, this one and other users' stay", async () => {
      const userId = await createUser(t.database.db)
      const otherUser = await createUser(t.database.db)
      const here = await signedInAgent(t, userId)
      const laptop = await signedInAgent(t, userId)
      const phone = await signedInAgent(t, userId)
      const someoneElse = await signedInAgent(t, otherUser)
      const res = await here.post('/test/end-other-sessions')
      assert.deepEqual(res.json(), { ended: 2 })
      assert.equal((await here.get('/test/whoami')).json().user.id, userId)
      assert.equal((await laptop.get('/test/whoami')).json().user, null)
      assert.equal((await phone.get('/test/whoami')).json().user, null)
      assert.equal((await someoneElse.get('/test/whoami')).json().user.id, otherUser)
    })

    test('endAllForUser without except ends them all (account disabling, role change by an admin)', async () => {
      const userId = await createUser(t.database.db)
      const a = await signedInAgent(t, userId)
      const b = await signedInAgent(t, userId)
      const res = await createAgent(t.app).post(`/test/end-all-sessions/${userId}`)
      assert.deepEqual(res.json(), { ended: 2 })
      assert.equal((await a.get('/test/whoami')).json().user, null)
      assert.equal((await b.get('/test/whoami')).json().user, null)
    })

    test('a disabled account has no session: the request is anonymous, the session ends, auth_failure is logged', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      const value = agent.sessionCookie()!
      await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', userId).execute()
      const res = await agent.get('/test/whoami')
      assert.deepEqual(res.json(), { user: null, has_session: false })
      assert.match(sessionSetCookie(res) ?? '', /^lectern_session=;/)
      const row = await t.database.db
        .selectFrom('sessions')
        .select('id_hash')
        .where('id_hash', '=', sha256(value))
        .execute()
      assert.deepEqual(row, [])
      const line = t.events('auth_failure').find((l) => l.request_id === res.headers['x-request-id'])
      assert.equal(line?.user_id, userId)
      assert.deepEqual(line?.extra, { reason: 'account_disabled', via: 'session_cookie' })
      // Enabling the account again does not revive the session.
      await t.database.db.updateTable('users').set({ disabled: 0 }).where('id', '=', userId).execute()
      const again = await t.app.inject({
        method: 'GET',
        url: '/test/whoami',
        headers: { cookie: `lectern_session=${value}` },
      })
      assert.equal(again.json().user, null)
    })

    test('signIn refuses a disabled or missing user', async () => {
      const userId = await createUser(t.database.db)
      await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', userId).execute()
      const agent = createAgent(t.app)
      assert.equal((await agent.post('/test/sign-in', { json: { user_id: userId } })).statusCode, 500)
      assert.equal((await agent.post('/test/sign-in', { json: { user_id: 999_999 } })).statusCode, 500)
      assert.equal((await agent.get('/test/whoami')).json().user, null)
    })

    test('deleting a user deletes their sessions (ON DELETE CASCADE)', async () => {
      const userId = await createUser(t.database.db)
      await signedInAgent(t, userId)
      await t.database.db.deleteFrom('users').where('id', '=', userId).execute()
      const rows = await t.database.db.selectFrom('sessions').select('id_hash').where('user_id', '=', userId).execute()
      assert.deepEqual(rows, [])
    })

    test('no session value appears in any log line', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      await agent.get('/test/whoami')
      const value = agent.sessionCookie()!
      const all = JSON.stringify(t.logs())
      assert.ok(!all.includes(value))
      assert.ok(!all.includes(sha256(value)))
    })
  })

  describe(`sessions on ${kind}: expiry (7 days idle, 30 days absolute; anonymous: the CSRF token lifetime)`, () => {
    let t: TestApp
    before(async () => {
      t = await buildTestApp({ routes: sessionRoutes, ...onDatabase(kind) })
    })
    after(() => t.close())

    test('the documented defaults', () => {
      assert.equal(SESSION_USER_IDLE_MS, 7 * DAY_MS)
      assert.equal(SESSION_USER_ABSOLUTE_MS, 30 * DAY_MS)
      const policy = defaultSessionPolicy(HOUR_MS)
      assert.equal(policy.anonymousIdleMs, HOUR_MS + MINUTE_MS)
      assert.equal(policy.anonymousAbsoluteMs, SESSION_ANONYMOUS_ABSOLUTE_MS)
    })

    test('signed in: idle for 7 days ends the session; 1 minute less does not', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      t.clock.advance(SESSION_USER_IDLE_MS - MINUTE_MS)
      assert.equal((await agent.get('/test/whoami')).json().user?.id, userId)
      // That request slid the idle expiry: another 7 days less a minute is fine again.
      t.clock.advance(SESSION_USER_IDLE_MS - MINUTE_MS)
      assert.equal((await agent.get('/test/whoami')).json().user?.id, userId)
      t.clock.advance(SESSION_USER_IDLE_MS)
      const res = await agent.get('/test/whoami')
      assert.equal(res.json().user, null)
      assert.match(sessionSetCookie(res) ?? '', /^lectern_session=;/)
    })

    test('signed in: 30 days after sign-in it ends, however active', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      for (let day = 6; day < 30; day += 6) {
        t.clock.advance(6 * DAY_MS)
        assert.equal((await agent.get('/test/whoami')).json().user?.id, userId, `day ${day}`)
      }
      t.clock.advance(5 * DAY_MS + 23 * HOUR_MS) // day 29:23
      assert.equal((await agent.get('/test/whoami')).json().user?.id, userId)
      t.clock.advance(HOUR_MS) // day 30
      assert.equal((await agent.get('/test/whoami')).json().user, null)
    })

    test('last_seen_at is written at most once a minute', async () => {
      const userId = await createUser(t.database.db)
      const agent = await signedInAgent(t, userId)
      const idHash = sha256(agent.sessionCookie()!)
      const lastSeen = async () =>
        (
          await t.database.db
            .selectFrom('sessions')
            .select('last_seen_at')
            .where('id_hash', '=', idHash)
            .executeTakeFirstOrThrow()
        ).last_seen_at
      const start = await lastSeen()
      t.clock.advance(30_000)
      await agent.get('/test/whoami')
      assert.equal(await lastSeen(), start)
      t.clock.advance(30_000)
      await agent.get('/test/whoami')
      assert.equal(await lastSeen(), start + MINUTE_MS)
    })

    test('anonymous: ends after the CSRF token lifetime plus a minute of idleness', async () => {
      const agent = createAgent(t.app)
      await agent.get('/csrf-token')
      t.clock.advance(HOUR_MS)
      assert.equal((await agent.get('/test/whoami')).json().has_session, true)
      t.clock.advance(HOUR_MS + MINUTE_MS)
      assert.equal((await agent.get('/test/whoami')).json().has_session, false)
    })

    test('Max-Age of the cookie is the absolute lifetime', async () => {
      const userId = await createUser(t.database.db)
      const res = await createAgent(t.app).post('/test/sign-in', { json: { user_id: userId } })
      assert.match(sessionSetCookie(res) ?? '', new RegExp(`Max-Age=${SESSION_USER_ABSOLUTE_MS / 1000}`))
    })
  })

  describe(`sessions on ${kind}: a flood of anonymous sessions stays bounded`, () => {
    test('expired rows are purged when sessions are created, at most once a minute', async () => {
      const database = await createTestDatabase(kind, postgresUrl)
      try {
        const clock = createManualClock()
        const store = createSessionStore({ db: database.db, clock, policy: defaultSessionPolicy(HOUR_MS) })
        for (let i = 0; i < 10; i++) await store.create(null)
        clock.advance(2 * HOUR_MS)
        await store.create(null) // the first purge on this store runs now: the 10 old ones go
        const count = async () =>
          Number(
            (
              await database.db
                .selectFrom('sessions')
                .select((eb) => eb.fn.countAll().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          )
        assert.equal(await count(), 1)
        clock.advance(2 * HOUR_MS)
        await store.create(null)
        assert.equal(await count(), 1, 'purged again: only the new one is left')
        clock.advance(30_000)
        await store.create(null)
        assert.equal(await count(), 2, 'no purge within the minute')
      } finally {
        await database.close()
      }
    })

    test('beyond the cap, the least recently seen anonymous sessions are evicted; signed-in ones never are', async () => {
      const database = await createTestDatabase(kind, postgresUrl)
      try {
        const clock = createManualClock()
        const policy = { ...defaultSessionPolicy(HOUR_MS), maxAnonymousSessions: 5 }
        const store = createSessionStore({ db: database.db, clock, policy })
        const userId = await createUser(database.db)
        const signedIn = await store.create(userId)
        const anonymous = []
        for (let i = 0; i < 12; i++) {
          clock.advance(1000)
          anonymous.push(await store.create(null))
        }
        const result = await store.purge()
        assert.deepEqual(result, { expired: 0, evicted: 7 })
        const left = (await database.db.selectFrom('sessions').select(['id_hash', 'user_id']).execute()).map(
          (r) => r.id_hash,
        )
        assert.equal(left.length, 6)
        assert.ok(left.includes(signedIn.idHash), 'the signed-in session stays')
        for (const kept of anonymous.slice(-5)) assert.ok(left.includes(kept.idHash), 'the most recent stay')
      } finally {
        await database.close()
      }
    })

    test('a flood of GET /csrf-token from fresh clients is bounded by the purge and the cap', async () => {
      // The app's policy: purge at most once a minute. 300 fresh clients in one minute leave at
      // most 300 rows; an hour and a minute later (idle expiry) the next creation purges them.
      const t = await buildTestApp({ routes: sessionRoutes, ...onDatabase(kind) })
      try {
        for (let i = 0; i < 300; i++) await t.app.inject({ method: 'GET', url: '/csrf-token' })
        t.clock.advance(HOUR_MS + 2 * MINUTE_MS)
        await t.app.inject({ method: 'GET', url: '/csrf-token' })
        const rows = await t.database.db.selectFrom('sessions').select('id_hash').execute()
        assert.equal(rows.length, 1)
      } finally {
        await t.close()
      }
    })
  })
}
