import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { hostileNextValues, resolvedOrigin, SITE_ORIGIN } from '../support/open-redirects.ts'
import { createPageClient, formToken, formsOf, tagOf, textOf } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'

/** The request_complete line of a response. */
function completion(t: TestApp, res: { headers: Record<string, unknown> }) {
  return t.events('request_complete').find((line) => line.request_id === res.headers['x-request-id'])
}

describe('pages: sign in, registration, sign out (CONTRACT §6)', () => {
  let t: TestApp
  before(async () => {
    // Many sign-ins from one address here; the limit itself is tested in pages-errors.test.ts.
    t = await buildTestApp({ env: { RATE_LIMIT_LOGIN: '100/15m', RATE_LIMIT_REGISTER: '100/1h' } })
    const api = createAgent(t.app)
    const res = await api.post('/api/register', {
      json: { username: 'grace', email: 'grace@example.com', password: PASSWORD },
    })
    assert.equal(res.statusCode, 201)
  })
  after(() => t.close())

  test('GET /login: a form posting to /login with csrf_token as its first field, labelled inputs', async () => {
    const browser = createPageClient(t.app)
    const res = await browser.open('/login')
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/)
    assert.equal(res.headers['cache-control'], 'no-store')
    const [form] = formsOf(res.body).filter((f) => f.action.startsWith('/login'))
    assert.ok(form, 'the sign-in form')
    assert.equal(form.method, 'post')
    assert.ok(form.hasToken && form.tokenFirst)
    for (const id of ['field-username', 'field-password']) {
      assert.match(res.body, new RegExp(`<label for="${id}">`), `label for ${id}`)
    }
    assert.match(tagOf(res.body, 'field-password') ?? '', /type="password"/)
  })

  test('right password → 303 to the dashboard, signed in; wrong → 401, the form again with the name kept and never the password', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    const wrong = await browser.submit('/login', { username: 'grace', password: 'not the password' })
    assert.equal(wrong.statusCode, 401)
    assert.match(wrong.body, /role="alert"[\s\S]*Invalid username or password/)
    assert.match(tagOf(wrong.body, 'field-username') ?? '', /value="grace"/)
    assert.doesNotMatch(wrong.body, /not the password/)
    assert.deepEqual(completion(t, wrong)?.error, { type: 'HttpError', message: 'Invalid username or password' })
    assert.ok(t.events('auth_failure').some((line) => line.request_id === wrong.headers['x-request-id']))

    const right = await browser.submit('/login', { username: 'grace', password: PASSWORD })
    assert.equal(right.statusCode, 303)
    assert.equal(right.headers.location, '/me')
    const me = await browser.agent.get('/api/me')
    assert.equal(me.json().user.username, 'grace')
    // Signed in, the sign-in page sends one on.
    const again = await browser.open('/login')
    assert.equal(again.statusCode, 303)
  })

  test('an empty form → 400 with a message next to each field, linked by aria-describedby', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    const res = await browser.submit('/login', { username: '', password: '' })
    assert.equal(res.statusCode, 400)
    assert.equal(textOf(res.body, 'field-username-error'), 'Error: Enter your username.')
    assert.equal(textOf(res.body, 'field-password-error'), 'Error: Enter your password.')
    assert.match(tagOf(res.body, 'field-username') ?? '', /aria-describedby="field-username-error" aria-invalid="true"/)
  })

  test('`next` is followed only to a path on this site', async () => {
    for (const [next, expected] of [
      ['/courses/intro?x=1', '/courses/intro?x=1'],
      ['//evil.example/steal', '/me'],
      ['/\\evil.example', '/me'],
      ['https://evil.example/', '/me'],
      ['javascript:alert(1)', '/me'],
    ] as const) {
      const browser = createPageClient(t.app)
      const page = await browser.open(`/login?next=${encodeURIComponent(next)}`)
      const action = formsOf(page.body).find((f) => f.action.startsWith('/login'))!.action
      const res = await browser.submit(action.replaceAll('&amp;', '&'), { username: 'grace', password: PASSWORD })
      assert.equal(res.statusCode, 303, next)
      assert.equal(res.headers.location, expected, next)
    }
  })

  test('register → 303 to the dashboard, signed in; problems are shown next to their fields with the values kept', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/register')
    const bad = await browser.submit('/register', { username: 'x!', email: 'not-an-email', password: 'short' })
    assert.equal(bad.statusCode, 400)
    assert.match(textOf(bad.body, 'field-username-error') ?? '', /Choose a username of 3 to 32/)
    assert.match(textOf(bad.body, 'field-email-error') ?? '', /valid email address/)
    assert.match(textOf(bad.body, 'field-password-error') ?? '', /at least 8 characters/)
    assert.match(tagOf(bad.body, 'field-email') ?? '', /value="not-an-email"/)
    assert.match(tagOf(bad.body, 'field-username') ?? '', /aria-describedby="field-username-hint field-username-error"/)

    const taken = await browser.submit('/register', {
      username: 'GRACE',
      email: 'other@example.com',
      password: PASSWORD,
    })
    assert.equal(taken.statusCode, 409)
    assert.equal(textOf(taken.body, 'field-username-error'), 'Error: Username already taken')
    assert.deepEqual(completion(t, taken)?.error, { type: 'HttpError', message: 'Username already taken' })

    const common = await browser.submit('/register', {
      username: 'linus',
      email: 'linus@example.com',
      password: 'password123',
    })
    assert.equal(common.statusCode, 400)
    assert.match(textOf(common.body, 'field-password-error') ?? '', /too common/)

    const ok = await browser.submit('/register', { username: 'linus', email: 'linus@example.com', password: PASSWORD })
    assert.equal(ok.statusCode, 303)
    assert.equal(ok.headers.location, '/me?notice=welcome')
    assert.equal((await browser.agent.get('/api/me')).json().user.username, 'linus')
    assert.ok(t.events('auth_success').some((line) => line.request_id === ok.headers['x-request-id']))
  })

  test('sign out: 303 to the catalogue, the session is over', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    await browser.submit('/login', { username: 'grace', password: PASSWORD })
    const page = await browser.open('/login?next=/')
    assert.equal(page.statusCode, 303)
    const home = await browser.follow(page)
    const logout = formsOf(home.body).find((f) => f.action === '/logout')
    assert.ok(logout?.hasToken, 'a sign-out form with a token in the navigation')
    const res = await browser.submit('/logout', {}, { token: formToken(logout.html) })
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/?notice=signed-out')
    assert.equal((await browser.agent.get('/api/me')).statusCode, 401)
  })
})

describe('pages: `next` never leads off this site (test/fixtures/open-redirects.txt)', () => {
  let t: TestApp
  const hostile = hostileNextValues()
  before(async () => {
    t = await buildTestApp({
      env: { RATE_LIMIT_LOGIN: '1000/15m', RATE_LIMIT_LOGIN_USER: '1000/15m', RATE_LIMIT_REGISTER: '1000/1h' },
    })
    const api = createAgent(t.app)
    const res = await api.post('/api/register', {
      json: { username: 'grace', email: 'grace@example.com', password: PASSWORD },
    })
    assert.equal(res.statusCode, 201)
  })
  after(() => t.close())

  /** A Location that leads to another origin, or null when it stays here. */
  const offSite = (location: unknown) =>
    typeof location === 'string' && resolvedOrigin(location) === SITE_ORIGIN ? null : String(location)

  test('signed in, GET /login?next=… and GET /register?next=… → 303 to a page on this site', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    assert.equal((await browser.submit('/login', { username: 'grace', password: PASSWORD })).statusCode, 303)
    for (const raw of hostile) {
      for (const page of ['/login', '/register']) {
        const res = await browser.open(`${page}?next=${raw}`)
        assert.equal(res.statusCode, 303, `${page}?next=${raw}`)
        assert.equal(offSite(res.headers.location), null, `${page}?next=${raw}`)
      }
    }
  })

  test('POST /login?next=… (the form’s action, or one an attacker wrote) → 303 to a page on this site', async () => {
    for (const raw of hostile) {
      const page = await createPageClient(t.app).open(`/login?next=${raw}`)
      assert.equal(page.statusCode, 200, raw)
      const action = formsOf(page.body)
        .find((f) => f.action.startsWith('/login'))!
        .action.replaceAll('&amp;', '&')
      for (const target of [action, `/login?next=${raw}`]) {
        const browser = createPageClient(t.app)
        await browser.open('/login')
        const res = await browser.submit(target, { username: 'grace', password: PASSWORD })
        assert.equal(res.statusCode, 303, target)
        assert.equal(offSite(res.headers.location), null, target)
      }
    }
  })

  test('POST /register?next=… → 303 to a page on this site', async () => {
    for (const [index, raw] of hostile.entries()) {
      const browser = createPageClient(t.app)
      await browser.open(`/register?next=${raw}`)
      const res = await browser.submit(`/register?next=${raw}`, {
        username: `learner${index}`,
        email: `learner${index}@example.com`,
        password: PASSWORD,
      })
      assert.equal(res.statusCode, 303, raw)
      assert.equal(offSite(res.headers.location), null, raw)
    }
  })
})
