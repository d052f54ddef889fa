import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { totpCodeAt } from '../../src/modules/two-factor/totp.ts'
import { withApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, setRole } from '../support/factories.ts'
import { STEP_MS } from '../support/two-factor.ts'
import { createPageClient, formsOf, inlineCodeIn, textOf, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'

async function signUp(t: TestApp, username: string): Promise<PageClient> {
  const browser = createPageClient(t.app)
  await browser.open('/register')
  const res = await browser.submit('/register', { username, email: `${username}@example.com`, password: PASSWORD })
  assert.equal(res.statusCode, 303)
  return browser
}

/** Sets two-factor sign-in up through the profile's forms; returns the secret and the codes shown. */
async function setUpThroughForms(t: TestApp, browser: PageClient) {
  await browser.open('/profile')
  assert.match(textOf(browser.html, 'two-factor-heading') ?? '', /Two-factor sign-in/)
  const started = await browser.submit('/profile/two-factor/setup', {})
  assert.equal(started.statusCode, 303)
  assert.equal(started.headers.location, '/profile/two-factor')
  await browser.follow(started)
  const secret = textOf(browser.html, 'two-factor-secret')!
  assert.match(secret, /^[A-Z2-7]{32}$/)
  const wrong = await browser.submit('/profile/two-factor/enable', { code: '12345x' })
  assert.equal(wrong.statusCode, 400)
  assert.match(wrong.body, /Invalid code\./)
  const enabled = await browser.submit('/profile/two-factor/enable', { code: await totpCodeAt(secret, t.clock.now()) })
  assert.equal(enabled.statusCode, 200)
  const codes = [...enabled.body.matchAll(/<li><code>([0-9a-z-]{14})<\/code><\/li>/g)].map((m) => m[1]!)
  assert.equal(codes.length, 10)
  t.clock.advance(STEP_MS)
  return { secret, codes }
}

describe('pages: two-factor sign-in (CONTRACT §11)', () => {
  test('set-up on /profile: a server-drawn QR code and the key as text, no inline script or style, every form with its token', () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const browser = await signUp(t, 'ada')
      await browser.open('/profile')
      assert.ok(formsOf(browser.html).some((f) => f.action === '/profile/two-factor/setup' && f.tokenFirst))
      await browser.submit('/profile/two-factor/setup', {})
      const page = await browser.open('/profile/two-factor')
      assert.equal(page.statusCode, 200)
      assert.match(
        page.body,
        /<svg role="img" aria-labelledby="two-factor-qr-label" xmlns="http:\/\/www.w3.org\/2000\/svg"/,
      )
      assert.deepEqual(inlineCodeIn(page.body), [])
      for (const form of formsOf(page.body).filter((f) => f.method === 'post')) assert.ok(form.tokenFirst, form.action)
      // The set-up is pending: /profile shows it too, and the password alone still signs in.
      await browser.open('/profile')
      assert.ok(textOf(browser.html, 'two-factor-secret'))
    }))

  test('set-up, then sign-in through the forms: password, then the code page; wrong code 401, right code 303', () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const owner = await signUp(t, 'grace')
      const { secret, codes } = await setUpThroughForms(t, owner)
      await owner.open('/profile')
      assert.match(owner.html, /<strong>On\.<\/strong>/)
      assert.ok(!owner.html.includes(codes[0]!), 'the codes are shown once only')

      const browser = createPageClient(t.app)
      // Without a password first, the code page sends to the sign-in.
      const early = await browser.open('/login/2fa?next=/profile')
      assert.equal(early.statusCode, 303)
      assert.equal(early.headers.location, '/login?next=%2Fprofile')
      await browser.open('/login?next=/profile')
      const step1 = await browser.submit('/login?next=/profile', { username: 'grace', password: PASSWORD })
      assert.equal(step1.statusCode, 303)
      assert.equal(step1.headers.location, '/login/2fa?next=%2Fprofile')
      await browser.follow(step1)
      assert.match(textOf(browser.html, 'login-code-heading') ?? '', /Enter your code/)
      const wrong = await browser.submit('/login/2fa?next=/profile', { code: '000000' })
      assert.equal(wrong.statusCode, 401)
      assert.match(wrong.body, /That code did not work/)
      const right = await browser.submit('/login/2fa?next=/profile', { code: await totpCodeAt(secret, t.clock.now()) })
      assert.equal(right.statusCode, 303)
      assert.equal(right.headers.location, '/profile')
      assert.equal((await browser.open('/profile')).statusCode, 200)
      const success = t.events('auth_success').at(-1)!
      assert.deepEqual(success.extra, { username: 'grace', method: 'totp', via: 'form' })

      // A recovery code through the same form.
      const other = createPageClient(t.app)
      await other.open('/login')
      await other.follow(await other.submit('/login', { username: 'grace', password: PASSWORD }))
      assert.equal((await other.submit('/login/2fa', { code: codes[0]!.toUpperCase() })).statusCode, 303)

      // Wrong codes through the form count with the API's: past RATE_LIMIT_2FA, the 429 page.
      const guesser = createPageClient(t.app)
      await guesser.open('/login')
      await guesser.follow(await guesser.submit('/login', { username: 'grace', password: PASSWORD }))
      // One wrong code was already counted above: 4 more reach the limit.
      for (let i = 0; i < 4; i++) assert.equal((await guesser.submit('/login/2fa', { code: '999999' })).statusCode, 401)
      const limited = await guesser.submit('/login/2fa', { code: await totpCodeAt(secret, t.clock.now()) })
      assert.equal(limited.statusCode, 429)
      assert.ok(Number(limited.headers['retry-after']) > 0)
      assert.match(limited.body, /Too many attempts/)
    }))

  test('new codes and turning off need the password; a wrong one is shown next to the field', () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const browser = await signUp(t, 'linus')
      await setUpThroughForms(t, browser)
      await browser.open('/profile')
      const wrong = await browser.submit('/profile/two-factor/recovery-codes', { current_password: 'nope' })
      assert.equal(wrong.statusCode, 400)
      assert.match(wrong.body, /Current password is incorrect\./)
      const fresh = await browser.submit('/profile/two-factor/recovery-codes', { current_password: PASSWORD })
      assert.equal(fresh.statusCode, 200)
      assert.equal([...fresh.body.matchAll(/<li><code>/g)].length, 10)
      const off = await browser.submit('/profile/two-factor/disable', { current_password: PASSWORD })
      assert.equal(off.statusCode, 303)
      assert.equal(off.headers.location, '/profile?notice=two-factor-disabled')
      await browser.follow(off)
      assert.match(browser.html, /Two-factor sign-in is off\./)
    }))

  test("an admin removes a user's second factors from /admin: the user is signed out and signs in with the password alone", () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const user = await signUp(t, 'barbara')
      await setUpThroughForms(t, user)
      const admin = await signUp(t, 'boss')
      const me = (await admin.agent.get('/api/me')).json() as { user: { id: number } }
      await setRole(t.database.db, me.user.id, 'admin')
      const target = (await user.agent.get('/api/me')).json() as { user: { id: number } }
      await admin.open('/admin')
      const form = formsOf(admin.html).find((f) => f.action === `/admin/users/${target.user.id}/2fa`)
      assert.ok(form?.tokenFirst)
      const res = await admin.submit(`/admin/users/${target.user.id}/2fa`, {})
      assert.equal(res.statusCode, 303)
      assert.equal(res.headers.location, '/admin?notice=second-factors-removed')
      assert.equal((await user.agent.get('/api/me')).statusCode, 401)
      const browser = createPageClient(t.app)
      await browser.open('/login')
      const login = await browser.submit('/login', { username: 'barbara', password: PASSWORD })
      assert.equal(login.statusCode, 303)
      assert.notEqual(login.headers.location, '/login/2fa')
    }))
})
