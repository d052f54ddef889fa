import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { MailMessage, Mailer } from '../../src/mail/index.ts'
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from '../../src/modules/accounts/import-users.csv.ts'
import { IMPORT_LINK_TTL_MS } from '../../src/modules/accounts/import-users.service.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { testDatabaseUrl } from '../support/services.ts'
import { createPageClient, formToken, formsOf, inlineCodeIn, type PageClient } from './pages-support.ts'

const postgresUrl = testDatabaseUrl()
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const
const PUBLIC_URL = 'https://learn.example.org'
const NEW_PASSWORD = 'a passphrase of my own choosing'
const LINK = /https:\/\/learn\.example\.org\/reset-password\/([A-Za-z0-9_-]{43})/g

/** A class of `n` learners, as a teacher's spreadsheet exports it. */
function classCsv(prefix: string, n: number): string {
  const rows = Array.from(
    { length: n },
    (_, i) => `${prefix}${i + 1},${prefix}${i + 1}@school.example,"Pupil ${i + 1}, ${prefix}",`,
  )
  return `username,email,display_name,role\r\n${rows.join('\r\n')}\r\n`
}

for (const kind of kinds) {
  describe(`/admin: import accounts from a CSV file (CONTRACT §15) on ${kind}`, () => {
    let t: TestApp
    let admin: SignedInUser
    let browser: PageClient
    const mails: MailMessage[] = []
    const mailer: Mailer = { send: (message) => void mails.push(message), close: async () => {} }

    before(async () => {
      t = await buildTestApp({
        env: { ...MANY_USERS_ENV, PUBLIC_URL },
        deps: { mailer },
        database: kind,
        ...(kind === 'postgres' ? { postgresUrl } : {}),
      })
      admin = await signedIn(t, 'admin')
      browser = createPageClient(t.app)
      await signInBrowser()
      await browser.open('/admin')
    })
    after(() => t.close())

    async function signInBrowser() {
      const login = await browser.agent.post('/api/login', {
        json: { username: admin.username, password: admin.password },
      })
      assert.equal(login.statusCode, 200, login.body)
    }

    const userCount = async () =>
      Number(
        (
          await t.database.db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )

    async function upload(csv: string | Buffer, options: { links?: boolean; token?: string | null } = {}) {
      await browser.open('/admin')
      const token = options.token === undefined ? formToken(browser.html) : options.token
      return browser.agent.post(`/admin/import-users${options.links ? '?links=1' : ''}`, {
        multipart: [{ name: 'accounts', filename: 'class.csv', data: csv, contentType: 'text/csv' }],
        csrf: token ?? false,
        csrfIn: 'field',
      })
    }

    test('the /admin section: a multipart form, its token first, two ways to submit, no inline code', async () => {
      const res = await browser.open('/admin')
      assert.equal(res.statusCode, 200)
      const form = formsOf(res.body).find((f) => f.action === '/admin/import-users')
      assert.ok(form, 'the import form')
      assert.ok(form.tokenFirst)
      assert.match(form.html, /enctype="multipart\/form-data"/)
      assert.match(form.html, /name="accounts" type="file"/)
      assert.match(form.html, /formaction="\/admin\/import-users\?links=1"/)
      assert.deepEqual(inlineCodeIn(res.body), [])
    })

    test('a learner and an instructor are refused, and nothing is read or created', async () => {
      const before = await userCount()
      for (const role of ['learner', 'instructor'] as const) {
        const someone = await signedIn(t, role, `imp${role}`)
        const res = await someone.agent.post('/admin/import-users', {
          multipart: [{ name: 'accounts', filename: 'c.csv', data: classCsv('sneaky', 2) }],
          headers: { accept: 'text/html' },
        })
        assert.equal(res.statusCode, 403)
      }
      assert.equal(await userCount(), before + 2)
    })

    test('without the form token first: 403, nothing created', async () => {
      const before = await userCount()
      const res = await upload(classCsv('forged', 2), { token: null })
      assert.equal(res.statusCode, 403)
      assert.equal(await userCount(), before)
    })

    test('a class of 30: created, no usable password, mailed a 7-day link each, links not shown', async () => {
      mails.length = 0
      const before = await userCount()
      const res = await upload(classCsv('pupil', 30))
      assert.equal(res.statusCode, 201, res.body)
      assert.match(res.body, /30 accounts were created/)
      assert.doesNotMatch(res.body, /reset-password\//)
      assert.equal(await userCount(), before + 30)
      const row = await t.database.db
        .selectFrom('users')
        .select(['display_name', 'role', 'email_verified'])
        .where('username', '=', 'pupil7')
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { display_name: 'Pupil 7, pupil', role: 'learner', email_verified: 0 })
      // Every mail went to its own account, after the commit.
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(mails.length, 30)
      assert.ok(mails.every((mail) => mail.kind === 'account_created'))
      assert.deepEqual(
        mails.map((mail) => mail.to).sort(),
        Array.from({ length: 30 }, (_, i) => `pupil${i + 1}@school.example`).sort(),
      )
      const expires = mails.map((mail) => (mail.data as { expiresAt: number }).expiresAt)
      assert.ok(expires.every((at) => at === t.clock.now() + IMPORT_LINK_TTL_MS))
      // No password opens the account until one is set.
      const login = await createAgent(t).post('/api/login', {
        json: { username: 'pupil7', password: '' + NEW_PASSWORD },
      })
      assert.equal(login.statusCode, 401)
      const events = t.events('admin_action').filter((e) => (e.extra as { action?: string }).action === 'import_user')
      assert.equal(events.length, 30)
      assert.ok(t.logs().every((line) => !JSON.stringify(line).includes('reset-password/')))
    })

    test('?links=1 shows each link; one sets the password, verifies the address and signs in; 7 days, both sides', async () => {
      const res = await upload(classCsv('linked', 3), { links: true })
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      assert.equal(res.headers['cache-control'], 'no-store')
      const tokens = [...res.body.matchAll(LINK)].map((m) => m[1]!)
      assert.equal(tokens.length, 3)
      const anon = createAgent(t)
      // One millisecond before the week is out, the first link works...
      t.clock.advance(IMPORT_LINK_TTL_MS - 1)
      const set = await anon.post('/api/password/reset', { json: { token: tokens[0], new_password: NEW_PASSWORD } })
      assert.equal(set.statusCode, 204, set.body)
      const login = await anon.post('/api/login', { json: { username: 'linked1', password: NEW_PASSWORD } })
      assert.equal(login.statusCode, 200, login.body)
      assert.equal(login.json().user.email_verified, true)
      // ...and at the week's end the second no longer does.
      t.clock.advance(1)
      const late = await anon.post('/api/password/reset', { json: { token: tokens[1], new_password: NEW_PASSWORD } })
      assert.equal(late.statusCode, 400)
      assert.equal(late.json().error, 'Invalid or expired reset link')
      await signInBrowser() // a week on, the admin's session has lapsed
    })

    test('every kind of problem, each with its line; nothing created', async () => {
      const taken = await signedIn(t, 'learner', 'taken')
      const before = await userCount()
      const csv = [
        '\ufeffUsername,EMAIL,display_name,role', // 1: BOM and letter case in the header
        'good1,good1@example.org,,', // 2
        'x,not-an-address,,', // 3: username and email invalid
        'good2,good2@example.org,,admin', // 4: admin is not imported
        'good3,good3@example.org,,teacher', // 5
        'GOOD1,other@example.org,,', // 6: same username as line 2, other case
        'good4,Good1@Example.org,,', // 7: same address as line 2
        '', // 8: an empty row is skipped
        `${taken.username.toUpperCase()},fresh@example.org,,`, // 9: registered already, other case
        '"good5","multi', // 10: a quoted field over two lines: the row starts on 10
        'line@example.org",,', // 11
        'good6,good6@example.org,"bad\u202ename",', // 12
      ].join('\r\n')
      const res = await upload(csv)
      assert.equal(res.statusCode, 400)
      assert.match(res.body, /Nothing was created/)
      for (const expected of [
        /line 3: invalid username &quot;x&quot;/,
        /line 3: invalid email address &quot;not-an-address&quot;/,
        /line 4: invalid role &quot;admin&quot;/,
        /line 5: invalid role &quot;teacher&quot;/,
        /line 6: username &quot;GOOD1&quot; is already on line 2/,
        /line 7: email &quot;Good1@Example.org&quot; is already on line 2/,
        new RegExp(`line 9: username &quot;${taken.username.toUpperCase()}&quot; is already taken`),
        /line 10: invalid email address/,
        /line 12: display_name must not contain control or bidirectional override characters/,
      ]) {
        assert.match(res.body, expected)
      }
      assert.equal(await userCount(), before)
      const refused = t.events('admin_action').filter((e) => (e.extra as { action?: string }).action === 'import_users')
      assert.equal((refused.at(-1)!.extra as { outcome: string }).outcome, 'refused')
    })

    test('the file itself: header, fields, quoting, encoding, size and row bounds', async () => {
      const before = await userCount()
      const cases: Array<[string | Buffer, RegExp]> = [
        ['name,email\nann,ann@example.org\n', /line 1: unknown column &quot;name&quot;/],
        ['email,role\nann@example.org,\n', /line 1: the header has no &quot;username&quot; column/],
        ['username,email,email\nann,a@example.org,b@example.org\n', /line 1: column &quot;email&quot; appears twice/],
        ['username,email\nann,ann@example.org,extra\n', /line 2: 3 fields, but the header names 2/],
        ['username,email\n"ann,ann@example.org\n', /line \d+: .*[Qq]uote/],
        ['username,email\n', /the file has a header but no accounts/],
        ['', /No file uploaded/], // an empty file part is no file
        ['\r\n\r\n', /the file is empty/],
        [Buffer.from([0x75, 0x73, 0xff, 0xfe, 0x0a]), /not UTF-8/],
        [classCsv('many', MAX_IMPORT_ROWS + 1), new RegExp(`more than ${MAX_IMPORT_ROWS} rows`)],
      ]
      for (const [csv, expected] of cases) {
        const res = await upload(csv)
        assert.equal(res.statusCode, 400, `${String(csv).slice(0, 40)}: ${res.statusCode}`)
        assert.match(res.body, expected)
      }
      const huge = await upload(Buffer.alloc(MAX_IMPORT_BYTES + 1, 'a'))
      assert.equal(huge.statusCode, 413)
      assert.match(huge.body, /File too large/)
      const none = await browser.agent.post('/admin/import-users', {
        multipart: [{ name: 'other', filename: 'c.csv', data: 'username,email\n' }],
        csrf: formToken(browser.html),
        csrfIn: 'field',
      })
      assert.equal(none.statusCode, 400)
      assert.match(none.body, /No file uploaded/)
      assert.equal(await userCount(), before)
    })

    test('exactly the bound of rows is accepted', async () => {
      const res = await upload(classCsv('full', MAX_IMPORT_ROWS))
      assert.equal(res.statusCode, 201, res.body.slice(0, 500))
      assert.match(res.body, new RegExp(`${MAX_IMPORT_ROWS} accounts were created`))
    })

    test('two admins importing the same names at once: one file wins whole, the other creates nothing', async () => {
      const csv = classCsv('race', 5)
      const [a, b] = await Promise.all([upload(csv), upload(csv)])
      assert.deepEqual([a.statusCode, b.statusCode].sort(), [201, 400])
      const made = await t.database.db.selectFrom('users').select('id').where('username', 'like', 'race%').execute()
      assert.equal(made.length, 5)
    })
  })
}
