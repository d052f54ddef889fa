import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { COALESCED, createAuditRepository, type NewAuditRow } from '../../src/modules/audit/audit.repository.ts'
import { parseTimeInput } from '../../src/web/pages/audit.routes.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { BROWSER_ACCEPT, createPageClient, type PageClient } from './pages-support.ts'

const SEEDED = Date.UTC(2025, 5, 1, 8, 0, 0)

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

/** The rows of the page's events table, each as its cells' text. */
function tableRows(html: string): string[][] {
  const body = /<table class="data audit-table">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? ''
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => cell[1]!.replace(/<[^>]+>/g, '')),
  )
}

const decode = (href: string) => href.replaceAll('&amp;', '&')

describe('pages: /admin/audit (CONTRACT §13 "Audit trail")', () => {
  let t: TestApp
  let admin: SignedInUser
  let browser: PageClient

  before(async () => {
    t = await buildTestApp({ env: MANY_USERS_ENV })
    admin = await signedIn(t, 'admin', 'warden')
    browser = createPageClient(t.app)
    await browser.open('/login')
    const res = await browser.submit('/login', { username: admin.username, password: admin.password })
    assert.equal(res.statusCode, 303)
  })
  after(() => t.close())
  beforeEach(async () => {
    await t.app.audit.writer.flush()
    await t.database.db.deleteFrom('audit_events').execute()
  })

  const seed = (rows: NewAuditRow[]) => createAuditRepository(t.database.db).write(rows)

  test('signed out: to the sign-in page; a learner: 403', async () => {
    const anonymous = createPageClient(t.app)
    const res = await anonymous.open('/admin/audit?user_id=1')
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/login?next=%2Fadmin%2Faudit%3Fuser_id%3D1')
    const learner = await signedIn(t, 'learner', 'pupil')
    const refused = await learner.agent.get('/admin/audit', { headers: { accept: BROWSER_ACCEPT } })
    assert.equal(refused.statusCode, 403)
  })

  test('a table with a caption and column headers, newest first, the filters as a labelled GET form', async () => {
    await seed([
      seedRow({ timestamp: SEEDED, user_id: admin.id, remote_addr: '198.51.100.4', count: 3 }),
      seedRow({ timestamp: SEEDED + 1000, event: 'logout', request_id: 'abc-123' }),
    ])
    const res = await browser.open('/admin/audit')
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /<caption>Security events, newest first \(2 on this page\)<\/caption>/)
    assert.match(res.body, /<th scope="col">Time<\/th><th scope="col">Event<\/th>/)
    assert.match(res.body, /<form method="get" action="\/admin\/audit" class="filter-form">/)
    for (const [id, name] of [
      ['audit-event', 'event'],
      ['audit-user', 'user_id'],
      ['audit-since', 'since'],
      ['audit-until', 'until'],
    ]) {
      assert.match(res.body, new RegExp(`<label for="${id}">`))
      assert.match(res.body, new RegExp(`id="${id}" name="${name}"`))
    }
    const rows = tableRows(res.body)
    assert.deepEqual(
      rows.map((row) => row.slice(0, 6)),
      [
        [new Date(SEEDED + 1000).toISOString(), 'logout', 'None', '192.0.2.1', '1', 'abc-123'],
        [new Date(SEEDED).toISOString(), 'auth_failure', admin.username, '198.51.100.4', '3', ''],
      ],
    )
    assert.match(res.body, new RegExp(`href="/admin/audit\\?user_id=${admin.id}">${admin.username}</a>`))
    assert.match(res.body, /href="\/api\/admin\/audit-events\?format=csv" download>Download CSV<\/a>/)
  })

  test('the filters narrow the table, show again in the form, and go with the CSV link', async () => {
    await seed([
      seedRow({ timestamp: SEEDED, event: 'auth_failure', user_id: 7 }),
      seedRow({ timestamp: SEEDED + 60_000, event: 'auth_success', user_id: 7 }),
      seedRow({ timestamp: SEEDED + 120_000, event: 'auth_success', user_id: 8 }),
    ])
    const res = await browser.open('/admin/audit?event=auth_success&user_id=7&since=2025-06-01&until=2025-06-02T00:00')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(
      tableRows(res.body).map((row) => row[1]),
      ['auth_success'],
    )
    assert.match(res.body, /<option value="auth_success" selected>/)
    assert.match(res.body, /id="audit-user" name="user_id" type="text" inputmode="numeric" value="7"/)
    assert.match(res.body, /id="audit-since" name="since" type="text" value="2025-06-01"/)
    const csv = /href="([^"]+)" download>/.exec(res.body)![1]!
    assert.equal(
      decode(csv),
      '/api/admin/audit-events?format=csv&event=auth_success&user_id=7&since=2025-06-01T00%3A00%3A00.000Z&until=2025-06-02T00%3A00%3A00.000Z',
    )
    const download = await browser.agent.get(decode(csv))
    assert.equal(download.statusCode, 200)
    assert.equal(download.headers['content-type'], 'text/csv; charset=utf-8')
    assert.equal(download.body.trim().split('\r\n').length, 2)
  })

  test('empty fields are no filter; wrong ones are said on the page with a 400 and no rows', async () => {
    await seed([seedRow({ timestamp: SEEDED })])
    const empty = await browser.open('/admin/audit?event=&user_id=&since=&until=')
    assert.equal(empty.statusCode, 200)
    assert.equal(tableRows(empty.body).length, 1)
    for (const [query, message] of [
      ['event=request_complete', /Choose an event from the list/],
      ['user_id=abc', /A user id is a whole number/],
      ['user_id=0', /A user id is a whole number/],
      ['since=last+week', /From: a date like/],
      ['until=2025-06-01T25:00Z', /Until: a date like/],
      ['since=2025-06-02&until=2025-06-01', /Until must be later than From/],
    ] as const) {
      const res = await browser.open(`/admin/audit?${query}`)
      assert.equal(res.statusCode, 400, query)
      assert.match(res.body, message)
      assert.match(res.body, /Correct the filters to see events/)
      assert.doesNotMatch(res.body, /Download CSV/)
    }
    const badCursor = await browser.open('/admin/audit?before=garbage')
    assert.equal(badCursor.statusCode, 400)
  })

  test('next-page links walk every row once, keeping the filters', async () => {
    await seed(
      Array.from({ length: 120 }, (_, i) =>
        seedRow({ timestamp: SEEDED + (i % 2), event: 'rate_limited', remote_addr: `10.9.0.${i}` }),
      ),
    )
    await seed([seedRow({ timestamp: SEEDED, event: 'logout' })])
    let res = await browser.open('/admin/audit?event=rate_limited')
    const seen: string[] = []
    const sizes: number[] = []
    for (;;) {
      const rows = tableRows(res.body)
      sizes.push(rows.length)
      seen.push(...rows.map((row) => row[3]!))
      const next = /<a href="([^"]+)" rel="next">Older →<\/a>/.exec(res.body)?.[1]
      if (next === undefined) break
      assert.match(decode(next), /^\/admin\/audit\?event=rate_limited&before=[\w-]+$/)
      res = await browser.open(decode(next))
      assert.match(res.body, /<a href="\/admin\/audit\?event=rate_limited">← Newest<\/a>/)
    }
    assert.deepEqual(sizes, [50, 50, 20])
    assert.equal(new Set(seen).size, 120)
  })

  test('what the trail holds is escaped: markup in an address or in extra is text', async () => {
    await seed([
      seedRow({
        timestamp: SEEDED,
        remote_addr: '<img src=x onerror=alert(1)>',
        extra: JSON.stringify({ key: '</code><script>alert(1)</script>' }),
      }),
    ])
    const res = await browser.open('/admin/audit')
    assert.doesNotMatch(res.body, /<script>alert/)
    assert.doesNotMatch(res.body, /<img src=x/)
    assert.match(res.body, /&lt;img src=x onerror=alert\(1\)&gt;/)
    assert.match(res.body, /&lt;\/code&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  })

  test('the /admin users table links each user to their events', async () => {
    const res = await browser.open('/admin')
    assert.match(res.body, /<a href="\/admin\/audit">Audit trail<\/a>/)
    assert.match(
      res.body,
      new RegExp(
        `<a class="button button--small button--secondary" href="/admin/audit\\?user_id=${admin.id}">Events<span class="visually-hidden"> of ${admin.username}</span></a>`,
      ),
    )
  })
})

describe('parseTimeInput: what the page takes as a time', () => {
  test('a date, a time with or without seconds, UTC unless a zone is given', () => {
    assert.equal(parseTimeInput('2026-01-15'), Date.UTC(2026, 0, 15))
    assert.equal(parseTimeInput('2026-01-15T09:30'), Date.UTC(2026, 0, 15, 9, 30))
    assert.equal(parseTimeInput('2026-01-15 09:30:15'), Date.UTC(2026, 0, 15, 9, 30, 15))
    assert.equal(parseTimeInput('2026-01-15T09:30:15.250Z'), Date.UTC(2026, 0, 15, 9, 30, 15, 250))
    assert.equal(parseTimeInput('2026-01-15T09:30+02:00'), Date.UTC(2026, 0, 15, 7, 30))
    assert.equal(parseTimeInput(' 2026-01-15t09:30z '), Date.UTC(2026, 0, 15, 9, 30))
  })

  test('anything else is not a time', () => {
    for (const value of [
      '',
      'yesterday',
      '2026-1-5',
      '2026-01-15T9:30',
      '2026-13-01',
      '2026-01-15T24:30',
      '15/01/2026',
    ]) {
      assert.equal(parseTimeInput(value), null, value)
    }
  })
})
