import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { TestApp } from '../support/app.ts'
import { PASSWORD, signedIn, type SignedInUser } from '../support/factories.ts'
import { mailingApp } from '../support/mailing-app.ts'
import { createPageClient, formsOf, inlineCodeIn, textOf, type PageClient } from './pages-support.ts'
import type { AgentResponse } from '../support/agent.ts'

const INVALID = 'Invalid or expired verification link'

/** The checks every page passes: HTML, never cached, no inline code, every POST form with its token first. */
function assertGoodPage(res: AgentResponse, status = 200) {
  assert.equal(res.statusCode, status, res.body.slice(0, 300))
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/)
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.deepEqual(inlineCodeIn(res.body), [])
  for (const form of formsOf(res.body).filter((f) => f.method === 'post')) {
    assert.ok(form.hasToken && form.tokenFirst, `csrf_token first in the form to ${form.action}`)
  }
}

async function verifiedInDatabase(t: TestApp, user: { id: number }) {
  const row = await t.database.db
    .selectFrom('users')
    .select('email_verified')
    .where('id', '=', user.id)
    .executeTakeFirstOrThrow()
  return row.email_verified === 1
}

/** A browser the user signed in on through the sign-in page, showing their profile. */
async function profileOf(t: TestApp, user: SignedInUser): Promise<PageClient> {
  const browser = createPageClient(t.app)
  await browser.open('/login')
  const res = await browser.submit('/login', { username: user.username, password: user.password })
  assert.equal(res.statusCode, 303)
  await browser.open('/profile')
  return browser
}

describe('pages: email verification (CONTRACT §10 "Pages")', () => {
  const { state, linkMailedTo, verificationMailsTo } = mailingApp()

  test('opening the link changes nothing, however often; the page says no-referrer and asks for the button', async () => {
    const t = state.t
    const user = await signedIn(t)
    const { token } = await linkMailedTo(user.email)
    const path = `/verify-email/${token}`
    for (let i = 0; i < 3; i++) {
      const res = await createPageClient(t.app).open(path)
      assertGoodPage(res)
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      const [form] = formsOf(res.body).filter((f) => f.action === path)
      assert.ok(form, 'a form posting back to the link')
      assert.match(form.html, /<button type="submit"[^>]*>Confirm my email address<\/button>/)
      assert.equal(res.body.split(token).length - 1, 1, 'the token appears once, in the action')
    }
    assert.equal(await verifiedInDatabase(t, user), false)
  })

  test('the button verifies: signed out → /login with a notice; signed in → /profile shows "Verified"', async () => {
    const t = state.t
    for (const signedInHere of [false, true]) {
      const user = await signedIn(t)
      const { token } = await linkMailedTo(user.email)
      const path = `/verify-email/${token}`
      const browser = signedInHere ? await profileOf(t, user) : createPageClient(t.app)
      if (signedInHere) assert.match(browser.html, /Not verified yet/)
      await browser.open(path)
      const done = await browser.submit(path, {})
      assert.equal(done.statusCode, 303)
      assert.equal(done.headers['referrer-policy'], 'no-referrer')
      assert.equal(
        done.headers.location,
        signedInHere ? '/profile?notice=email-verified' : '/login?notice=email-verified',
      )
      const next = await browser.follow(done)
      assertGoodPage(next)
      assert.match(next.body, /role="status">Your email address is verified/)
      if (signedInHere) {
        assert.equal(textOf(next.body, 'email-status')?.startsWith('Verified:'), true)
        assert.equal(formsOf(next.body).filter((f) => f.action === '/profile/email-verification').length, 0)
      }
      assert.equal(await verifiedInDatabase(t, user), true)
    }
  })

  test('a used, unknown or oversized link: 400 with the message, and the way to a new one', async () => {
    const t = state.t
    const user = await signedIn(t)
    const { token } = await linkMailedTo(user.email)
    const browser = createPageClient(t.app)
    await browser.open(`/verify-email/${token}`)
    assert.equal((await browser.submit(`/verify-email/${token}`, {})).statusCode, 303)
    for (const link of [`/verify-email/${token}`, '/verify-email/not-a-token', `/verify-email/${'x'.repeat(300)}`]) {
      await browser.open(link)
      const res = await browser.submit(link, {})
      assertGoodPage(res, 400)
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      assert.equal(textOf(res.body, 'verify-invalid'), INVALID)
      assert.match(res.body, /<a class="button" href="\/login">Sign in<\/a>/)
    }
    // Signed in, the page offers to send a new link.
    const signedInBrowser = await profileOf(t, user)
    await signedInBrowser.open('/verify-email/not-a-token')
    const res = await signedInBrowser.submit('/verify-email/not-a-token', {})
    assertGoodPage(res, 400)
    assert.ok(formsOf(res.body).some((f) => f.action === '/profile/email-verification'))
  })

  test('the profile sends the link again, says when the hour’s links are used up, and needs the CSRF token', async () => {
    const t = state.t
    const user = await signedIn(t)
    await linkMailedTo(user.email)
    const browser = await profileOf(t, user)
    assert.match(browser.html, /Not verified yet:<\/strong> we sent a link to/)
    const forged = await browser.submit('/profile/email-verification', {}, { token: null })
    assert.equal(forged.statusCode, 403)
    assert.equal(verificationMailsTo(user.email).length, 1)
    for (const expected of ['verification-sent', 'verification-sent', 'verification-capped']) {
      await browser.open('/profile')
      const res = await browser.submit('/profile/email-verification', {})
      assert.equal(res.statusCode, 303)
      assert.equal(res.headers.location, `/profile?notice=${expected}`)
    }
    const shown = await browser.open('/profile?notice=verification-capped')
    assert.match(shown.body, /already sent several links in the last hour/)
    await linkMailedTo(user.email)
    await linkMailedTo(user.email)
    assert.equal(verificationMailsTo(user.email).length, 3)
  })

  test('a change of address on the profile page: unverified, a link to the new address', async () => {
    const t = state.t
    const user = await signedIn(t)
    const first = await linkMailedTo(user.email)
    const browser = await profileOf(t, user)
    await browser.open(`/verify-email/${first.token}`)
    await browser.submit(`/verify-email/${first.token}`, {})
    const profile = await browser.open('/profile')
    assert.match(profile.body, /Verified:/)
    const newEmail = `new-${user.username}@example.net`
    const saved = await browser.submit('/profile', { display_name: '', bio: '', email: newEmail })
    assert.equal(saved.statusCode, 303)
    const after = await browser.follow(saved)
    assert.match(after.body, /Not verified yet:<\/strong> we sent a link to new-/)
    await linkMailedTo(newEmail)
  })
})

describe('pages: REQUIRE_EMAIL_VERIFICATION=true', () => {
  const { state, linkMailedTo } = mailingApp({ REQUIRE_EMAIL_VERIFICATION: 'true' })

  test('registration → /login "check your email", not signed in; sign-in 403 until the link is followed, then 303', async () => {
    const t = state.t
    const browser = createPageClient(t.app)
    await browser.open('/register')
    const who = { username: 'formwaiter', email: 'formwaiter@example.org', password: PASSWORD }
    const registered = await browser.submit('/register', who)
    assert.equal(registered.statusCode, 303)
    assert.equal(registered.headers.location, '/login?notice=check-email')
    const login = await browser.follow(registered)
    assertGoodPage(login)
    assert.match(login.body, /We have sent a link to your email address/)
    assert.equal((await browser.open('/profile')).statusCode, 303, 'not signed in')
    await linkMailedTo(who.email)

    await browser.open('/login')
    const waiting = await browser.submit('/login', { username: who.username, password: who.password })
    assertGoodPage(waiting, 403)
    assert.match(waiting.body, /Your email address is not verified yet\. We have sent a new link to it/)
    assert.match(waiting.body, /value="formwaiter"/, 'the username is kept')
    const { token } = await linkMailedTo(who.email)

    await browser.open(`/verify-email/${token}`)
    const verified = await browser.submit(`/verify-email/${token}`, {})
    assert.equal(verified.headers.location, '/login?notice=email-verified')
    await browser.follow(verified)
    const signedInNow = await browser.submit('/login', { username: who.username, password: who.password })
    assert.equal(signedInNow.statusCode, 303)
    assert.equal((await browser.open('/profile')).statusCode, 200)
  })
})
