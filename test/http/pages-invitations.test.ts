import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AgentResponse } from '../support/agent.ts'
import { withApp, type TestApp } from '../support/app.ts'
import { createWork, insertAccount, MANY_USERS_ENV, PASSWORD, setRole } from '../support/factories.ts'
import { createPageClient, formsOf, inlineCodeIn, textOf, type PageClient } from './pages-support.ts'

const PUBLIC_URL = 'https://learn.example.org'
const LINK = /https:\/\/learn\.example\.org\/invite\/([A-Za-z0-9_-]{43})/g

function assertGoodPage(res: AgentResponse, status = 200) {
  assert.equal(res.statusCode, status, res.body.slice(0, 500))
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/)
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.deepEqual(inlineCodeIn(res.body), [])
  for (const form of formsOf(res.body).filter((f) => f.method === 'post')) {
    assert.ok(form.hasToken && form.tokenFirst, `csrf_token first in the form to ${form.action}`)
  }
}

let serial = 0
/** A browser signed in as a new account of this role (registered over the API, promoted in the database). */
async function browserAs(t: TestApp, role: 'admin' | 'learner'): Promise<PageClient> {
  serial += 1
  const browser = createPageClient(t.app)
  const username = `${role}${serial}`
  const res = await browser.agent.post('/api/register', {
    json: { username, email: `${username}@example.org`, password: PASSWORD },
  })
  if (res.statusCode === 403) {
    // Registration is not open: the account is made as `lectern create-admin` would.
    await insertAccount(t.database.db, username, role, t.clock.now())
    const login = await browser.agent.post('/api/login', { json: { username, password: PASSWORD } })
    assert.equal(login.statusCode, 200, login.body)
  } else {
    assert.equal(res.statusCode, 201, res.body)
    await setRole(t.database.db, res.json().user.id, role)
  }
  return browser
}

async function inviteOnPage(admin: PageClient, fields: Record<string, string>): Promise<AgentResponse> {
  await admin.open('/admin')
  return admin.submit('/admin/invitations', { role: 'learner', course: '', ...fields })
}

const tokensIn = (html: string) => [...html.matchAll(LINK)].map((match) => match[1]!)

describe('pages: invitations on /admin (CONTRACT §15)', () => {
  test('a pasted list, a role, a course: the links shown once, no-referrer, 201; duplicates and case merged', () =>
    withApp({ env: { ...MANY_USERS_ENV, PUBLIC_URL } }, async (t) => {
      await createWork(t.database.db, 'course', { slug: 'intro', title: 'Intro to Rust', parts: ['One'] })
      const admin = await browserAs(t, 'admin')
      const overview = await admin.open('/admin')
      assertGoodPage(overview)
      assert.match(overview.body, /<h2 id="invitations-heading">Invitations<\/h2>/)
      assert.match(overview.body, /<option value="intro">Intro to Rust<\/option>/)
      const res = await inviteOnPage(admin, {
        emails: 'Ada@Example.org\nada@example.org, grace@example.org;  admin' + serial + '@example.org\n',
        role: 'instructor',
        course: 'intro',
      })
      assertGoodPage(res, 201)
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      assert.equal(tokensIn(res.body).length, 2)
      assert.match(res.body, /Ada@Example\.org/)
      assert.match(res.body, /Email address already registered/)
      const pending = await admin.open('/admin')
      assert.match(pending.body, /2 pending invitations/)
      assert.match(pending.body, /Instructor, Intro to Rust/)
      assert.equal(tokensIn(pending.body).length, 0, 'the links are shown only once')
      const [line] = t.events('admin_action').filter((e) => (e.extra as any).action === 'invite')
      assert.equal((line!.extra as any).via, 'page')
      assert.equal((line!.extra as any).invited, 2)
    }))

  test('a bad address, too many addresses or nothing: the form again with the list kept, nobody invited', () =>
    withApp({ env: { ...MANY_USERS_ENV, PUBLIC_URL } }, async (t) => {
      const admin = await browserAs(t, 'admin')
      const bad = await inviteOnPage(admin, { emails: 'ok@example.org\nnot-an-address' })
      assertGoodPage(bad, 400)
      assert.match(bad.body, /Not valid email addresses: not-an-address/)
      assert.match(bad.body, /ok@example\.org\nnot-an-address<\/textarea>/)
      const many = Array.from({ length: 501 }, (_, i) => `p${i}@example.org`).join('\n')
      const tooMany = await inviteOnPage(admin, { emails: many })
      assertGoodPage(tooMany, 400)
      assert.match(tooMany.body, /At most 500 addresses at a time: this list has 501\./)
      assertGoodPage(await inviteOnPage(admin, { emails: '  ' }), 400)
      assertGoodPage(await inviteOnPage(admin, { emails: 'a@example.org', course: 'nope' }), 400)
      assert.equal(await t.database.db.selectFrom('invitations').select('id').executeTakeFirst(), undefined)
    }))

  test('revoke: the button ends the link; a learner is refused whatever the body', () =>
    withApp({ env: { ...MANY_USERS_ENV, PUBLIC_URL } }, async (t) => {
      const admin = await browserAs(t, 'admin')
      const [token] = tokensIn((await inviteOnPage(admin, { emails: 'gone@example.org' })).body)
      const overview = await admin.open('/admin')
      const revokeForm = formsOf(overview.body).find((f) => f.action.endsWith('/revoke'))!
      const revoked = await admin.submit(revokeForm.action, {})
      assert.equal(revoked.statusCode, 303)
      assert.match((await admin.follow(revoked)).body, /The invitation is revoked/)
      assert.equal((await admin.open(`/invite/${token}`)).statusCode, 404)
      const learner = await browserAs(t, 'learner')
      await learner.open('/me')
      assert.equal((await learner.submit('/admin/invitations', { emails: 'x@example.org' })).statusCode, 403)
      assert.equal((await learner.submit('/admin/invitations/1/revoke', {})).statusCode, 403)
    }))
})

describe('pages: /invite/<token> (CONTRACT §15)', () => {
  test('the address fixed and shown; registering lands in the course, signed in; logged as [redacted]', () =>
    withApp({ env: { ...MANY_USERS_ENV, PUBLIC_URL } }, async (t) => {
      await createWork(t.database.db, 'course', { slug: 'intro', title: 'Intro to Rust', parts: ['One'] })
      const admin = await browserAs(t, 'admin')
      const [token] = tokensIn((await inviteOnPage(admin, { emails: 'lin@example.org', course: 'intro' })).body)
      const learner = createPageClient(t.app)
      const page = await learner.open(`/invite/${token}`)
      assertGoodPage(page)
      assert.equal(page.headers['referrer-policy'], 'no-referrer')
      assert.equal(textOf(page.body, 'invite-email'), 'lin@example.org')
      assert.match(page.body, /enrolled in “Intro to Rust”/)
      assert.doesNotMatch(page.body, /name="email"/)
      const weak = await learner.submit(`/invite/${token}`, { username: 'lin', password: 'short' })
      assertGoodPage(weak, 400)
      assert.match(weak.body, /value="lin"/)
      const done = await learner.submit(`/invite/${token}`, { username: 'lin', password: PASSWORD })
      assert.equal(done.statusCode, 303)
      assert.equal(done.headers.location, '/courses/intro?notice=invitation-accepted')
      const course = await learner.follow(done)
      assert.match(course.body, /you are enrolled in this course/)
      const me = (await learner.agent.get('/api/me')).json().user
      assert.equal(me.email, 'lin@example.org')
      assert.equal(me.email_verified, true)
      // Used: the page now says so, with no form.
      const used = await createPageClient(t.app).open(`/invite/${token}`)
      assertGoodPage(used, 404)
      assert.match(used.body, /Invalid or expired invitation/)
      assert.equal(formsOf(used.body).filter((f) => f.action.startsWith('/invite/')).length, 0)
      const lines = t.logs().map((line) => JSON.stringify(line))
      assert.ok(lines.some((line) => line.includes('/invite/[redacted]')))
      assert.ok(!lines.some((line) => line.includes(token!)), 'the token is in a log line')
    }))
})

describe('pages: REGISTRATION modes', () => {
  test('open: the header, the sign-in page and the catalogue offer registration', () =>
    withApp({ env: { ...MANY_USERS_ENV } }, async (t) => {
      const visitor = createPageClient(t.app)
      assert.match((await visitor.open('/')).body, /href="\/register"/)
      assert.match((await visitor.open('/login')).body, /Create an account/)
      assert.match((await visitor.open('/register')).body, /<form method="post" action="\/register"/)
    }))

  for (const [mode, sentence] of [
    ['invite', /Registration is by invitation only\./],
    ['closed', /Registration is closed\./],
  ] as const) {
    test(`${mode}: /register explains instead of a form; no page links to it; a form post is 403`, () =>
      withApp({ env: { ...MANY_USERS_ENV, REGISTRATION: mode } }, async (t) => {
        const visitor = createPageClient(t.app)
        for (const path of ['/', '/login']) {
          const page = await visitor.open(path)
          assertGoodPage(page)
          assert.doesNotMatch(page.body, /href="\/register/, path)
        }
        const register = await visitor.open('/register')
        assertGoodPage(register)
        assert.match(register.body, sentence)
        assert.doesNotMatch(register.body, /<form method="post" action="\/register/)
        await visitor.open('/login') // a page with a form, for a token
        const posted = await visitor.submit('/register', {
          username: 'walkin',
          email: 'walkin@example.org',
          password: PASSWORD,
        })
        assertGoodPage(posted, 403)
        assert.match(posted.body, sentence)
        assert.equal(await t.database.db.selectFrom('users').select('id').executeTakeFirst(), undefined)
      }))
  }
})

describe('pages: the rate-limit pages of the sign-in and registration forms', () => {
  test('invitation form: bad links count (400), then 429 explained; a working invitation still registers', () =>
    withApp({ env: { PUBLIC_URL, RATE_LIMIT_REGISTER: '3/1h' } }, async (t) => {
      const admin = await browserAs(t, 'admin') // the address's first registration
      const [token] = tokensIn((await inviteOnPage(admin, { emails: 'kim@example.org' })).body)
      const guesser = createPageClient(t.app)
      for (const i of [1, 2]) {
        await guesser.open('/login') // a page with a token: an invalid link's page has no form
        const res = await guesser.submit(`/invite/${'x'.repeat(42)}${i}`, { username: `kim${i}`, password: PASSWORD })
        assertGoodPage(res, 400)
        assert.match(res.body, /Invalid or expired invitation/)
      }
      await guesser.open('/login')
      const refused = await guesser.submit(`/invite/${'x'.repeat(43)}`, { username: 'kim3', password: PASSWORD })
      assertGoodPage(refused, 429)
      assert.equal(refused.headers['referrer-policy'], 'no-referrer')
      assert.match(refused.body, /Too many registration attempts came from your network/)
      const invited = createPageClient(t.app)
      await invited.open(`/invite/${token}`)
      const done = await invited.submit(`/invite/${token}`, { username: 'kim', password: PASSWORD })
      assert.equal(done.statusCode, 303, done.body.slice(0, 300))
      assert.equal(done.headers.location, '/me?notice=invited-welcome')
    }))

  test('sign-in: attempts left said once two or fewer remain; the 429 keeps the username, says which limit, why and until when', () =>
    withApp({ env: { RATE_LIMIT_LOGIN: '5/15m' } }, async (t) => {
      const browser = createPageClient(t.app)
      await browser.open('/login')
      const said: Array<string | null> = []
      for (let i = 0; i < 5; i += 1) {
        const res = await browser.submit('/login', { username: 'ada', password: `guess ${i}` })
        assert.equal(res.statusCode, 401)
        said.push(/(\d) attempts? remains?|That was the last attempt/.exec(res.body)?.[0] ?? null)
      }
      assert.deepEqual(said, [null, null, '2 attempts remain', '1 attempt remains', 'That was the last attempt'])
      const refused = await browser.submit('/login', { username: 'ada', password: 'the right one, perhaps' })
      assertGoodPage(refused, 429)
      assert.ok(Number(refused.headers['retry-after']) > 0)
      assert.match(refused.body, /<input id="field-username" name="username" type="text" value="ada"/)
      assert.doesNotMatch(refused.body, /the right one, perhaps/)
      assert.match(refused.body, /Too many failed sign-in attempts came from your network/)
      // The manual clock starts at 12:00 UTC; the window is 15 minutes.
      assert.match(refused.body, /try again in 15 minutes, at 12:15 UTC\./)
    }))

  test('registration: the 429 keeps the username and address (never the password) and names the registration limit', () =>
    withApp({ env: { RATE_LIMIT_REGISTER: '2/1h' } }, async (t) => {
      const browser = createPageClient(t.app)
      await browser.open('/register')
      for (const name of ['one', 'two']) {
        await browser.agent.post('/api/logout')
        await browser.open('/register')
        const res = await browser.submit('/register', {
          username: name,
          email: `${name}@example.org`,
          password: PASSWORD,
        })
        assert.equal(res.statusCode, 303)
      }
      await browser.agent.post('/api/logout')
      await browser.open('/register')
      const refused = await browser.submit('/register', {
        username: 'three',
        email: 'three@example.org',
        password: PASSWORD,
      })
      assertGoodPage(refused, 429)
      assert.match(refused.body, /value="three"/)
      assert.match(refused.body, /value="three@example\.org"/)
      assert.ok(!refused.body.includes(PASSWORD))
      assert.match(refused.body, /Too many registration attempts came from your network/)
      assert.match(refused.body, /try again in 60 minutes, at 13:00 UTC\./)
    }))
})
