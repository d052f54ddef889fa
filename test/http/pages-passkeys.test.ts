import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV } from '../support/factories.ts'
import {
  addPasskey,
  createSoftAuthenticator,
  PASSKEY_ORIGIN,
  PASSKEY_PUBLIC_URL,
  passkeySignIn,
} from '../support/passkeys.ts'
import { createAgent } from '../support/agent.ts'
import { createPageClient, formsOf, inlineCodeIn, tagOf, textOf, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'
const XSS = '<img src=x onerror=alert(1)>'

describe('pages: passkeys on /profile and /login (CONTRACT §11)', () => {
  let t: TestApp
  const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })

  async function signUp(username: string): Promise<PageClient> {
    const browser = createPageClient(t.app)
    await browser.open('/register')
    const res = await browser.submit('/register', { username, email: `${username}@example.com`, password: PASSWORD })
    assert.equal(res.statusCode, 303)
    await browser.open('/profile')
    return browser
  }

  before(async () => {
    t = await buildTestApp({ env: { ...MANY_USERS_ENV, PUBLIC_URL: PASSKEY_PUBLIC_URL } })
  })
  after(() => t.close())

  test('without passkeys: the section says so, and that adding one needs JavaScript; no inline script', async () => {
    const browser = await signUp('ada')
    assert.equal(textOf(browser.html, 'passkeys-heading'), 'Passkeys')
    assert.equal(textOf(browser.html, 'passkey-list-empty'), 'You have no passkeys yet.')
    assert.match(browser.html, /<p class="passkey-needs-js" data-passkey-needs-js>Adding a passkey needs JavaScript/)
    // The add panel waits, hidden, for the script; it is no form a browser without it could post.
    assert.match(browser.html, /<div class="form" data-passkey-add hidden>/)
    assert.ok(!formsOf(browser.html).some((form) => form.action.includes('passkey')))
    assert.deepEqual(inlineCodeIn(browser.html), [])
  })

  test('the list shows names (escaped) and dates; "Remove" is a form that works without JavaScript', async () => {
    const browser = await signUp('grace')
    const { id } = await addPasskey(browser.agent, device, XSS)
    t.clock.advance(24 * 60 * 60 * 1000)
    await passkeySignIn(createAgent(t), device, (await addPasskey(browser.agent, device, 'Phone')).credential)
    await browser.open('/profile')
    assert.ok(!browser.html.includes(XSS), 'the name is escaped')
    assert.match(browser.html, /&lt;img src=x onerror=alert\(1\)&gt;/)
    const list = textOf(browser.html, 'passkey-list') ?? ''
    assert.match(list, /Added 2026-01-15 · not used yet Remove/)
    assert.match(list, /Phone Added 2026-01-16 · last used 2026-01-16 Remove/)
    const remove = formsOf(browser.html).find((form) => form.action === `/profile/passkeys/${id}/delete`)
    assert.ok(remove?.hasToken && remove.tokenFirst && remove.method === 'post')
    assert.match(remove.html, /aria-label="Remove the passkey &lt;img/)

    const res = await browser.submit(`/profile/passkeys/${id}/delete`, {})
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/profile?notice=passkey-removed')
    const page = await browser.follow(res)
    assert.match(page.body, /The passkey is removed/)
    assert.ok(!formsOf(page.body).some((form) => form.action === `/profile/passkeys/${id}/delete`))
    const removed = t.events('passkey_removed').at(-1)!
    assert.deepEqual(removed.extra, { key_id: id, via: 'form' })
  })

  test("removing another account's passkey, or one that is gone: 404 page, nothing removed; no token: 403", async () => {
    const owner = await signUp('owner')
    const { id } = await addPasskey(owner.agent, device)
    const mallory = await signUp('mallory')
    const res = await mallory.submit(`/profile/passkeys/${id}/delete`, {})
    assert.equal(res.statusCode, 404)
    assert.match(String(res.headers['content-type']), /^text\/html/)
    const noToken = await owner.submit(`/profile/passkeys/${id}/delete`, {}, { token: null })
    assert.equal(noToken.statusCode, 403)
    assert.equal((await owner.agent.get('/api/passkeys')).json().passkeys.length, 1)
  })

  test('/login offers "Sign in with a passkey" for the script, going where the form would go', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login?next=%2Fcourses')
    const panel = tagOf(browser.html, 'passkey-sign-in-status')
    assert.ok(panel, 'a status line for what the script says')
    assert.match(
      browser.html,
      /<div class="passkey-sign-in" data-passkey-sign-in data-after-sign-in="\/courses" hidden>/,
    )
    assert.match(browser.html, /data-passkey-sign-in-button>Sign in with a passkey<\/button>/)
    await browser.open('/login?next=https%3A%2F%2Fevil.example%2F')
    assert.match(browser.html, /data-after-sign-in="\/me"/)
    assert.deepEqual(inlineCodeIn(browser.html), [])
  })
})
