import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  PASSWORD,
  screenshot,
  STEP,
  submit,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
} from './harness.ts'

/** A port free right now, so PUBLIC_URL can name it before the server listens on it. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/**
 * A passkey added and used in Chromium with a virtual authenticator (CDP's WebAuthn domain: a
 * platform authenticator that holds discoverable credentials and verifies its user). WebAuthn
 * wants a secure context and a relying party id that is a domain: Chromium refuses an IP address
 * such as 127.0.0.1 as an RP ID, so the app is reached as http://localhost:PORT (a secure
 * context, like any loopback origin) with PUBLIC_URL to match.
 */
describe(
  'in a real browser: add a passkey on /profile, sign out, sign in with it on /login (CONTRACT §11)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let t: TestApp
    let baseUrl: string
    let session: BrowserSession

    before(async () => {
      const port = await freePort()
      baseUrl = `http://localhost:${port}`
      t = await buildTestApp({ env: { PUBLIC_URL: baseUrl } })
      await t.app.listen({ host: '127.0.0.1', port })
      session = await launchChromium()
    })
    after(async () => {
      await session?.close()
      await t?.close()
    })

    test('the whole journey with a virtual authenticator', STEP, async () => {
      const api = createAgent(t)
      const registered = await api.post('/api/register', {
        json: { username: 'ada', email: 'ada@example.org', password: PASSWORD },
      })
      assert.equal(registered.statusCode, 201)

      const { context, page, watch } = await openContext(session)
      await context.addCookies([{ name: 'lectern_session', value: api.sessionCookie()!, url: baseUrl }])
      const cdp = await context.newCDPSession(page)
      await cdp.send('WebAuthn.enable')
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
        },
      })

      await page.goto(`${baseUrl}/profile`)
      // The script found WebAuthn: the add panel is shown, the "needs JavaScript" line hidden.
      await page.waitForSelector('[data-passkey-add-button]', { state: 'visible' })
      assert.equal(await page.isVisible('[data-passkey-needs-js]'), false)
      await page.fill('#passkey-name', 'Virtual laptop')
      await Promise.all([page.waitForURL(/\/profile\?notice=passkey-added$/), page.click('[data-passkey-add-button]')])
      assert.match((await page.textContent('#passkey-list')) ?? '', /Virtual laptop/)
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
      assert.equal(credentials.length, 1)
      assert.equal(credentials[0]!.isResidentCredential, true, 'a discoverable credential')
      assert.equal(credentials[0]!.rpId, 'localhost')
      await screenshot(page, 'passkeys-profile')

      await submit(page, 'form[action="/logout"] button')
      assert.equal((await api.get('/api/me')).statusCode, 401, 'signing out ended the session')

      await page.goto(`${baseUrl}/login?next=%2Fprofile`)
      await page.waitForSelector('[data-passkey-sign-in-button]', { state: 'visible' })
      await screenshot(page, 'passkeys-login')
      await Promise.all([page.waitForURL(`${baseUrl}/profile`), page.click('[data-passkey-sign-in-button]')])
      assert.match((await page.textContent('main')) ?? '', /Signed in as ada/)
      const success = t.events('auth_success').at(-1)!
      assert.equal((success.extra as { method: string }).method, 'passkey')
      const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
      assert.ok(after.credentials[0]!.signCount >= 1, 'the authenticator signed once more')

      assert.deepEqual(watch.problems(), [])
      await context.close()
    })

    test(
      'with JavaScript off, /profile says a passkey needs it and /login shows the password form alone',
      STEP,
      async () => {
        const api = createAgent(t)
        await api.post('/api/register', { json: { username: 'grace', email: 'grace@example.org', password: PASSWORD } })
        const { context, page, watch } = await openContext(session, 1280, { javaScript: false })
        await context.addCookies([{ name: 'lectern_session', value: api.sessionCookie()!, url: baseUrl }])
        await page.goto(`${baseUrl}/profile`)
        assert.equal(await page.isVisible('[data-passkey-needs-js]'), true)
        assert.equal(await page.isVisible('[data-passkey-add-button]'), false)
        await context.clearCookies()
        await page.goto(`${baseUrl}/login`)
        assert.equal(await page.isVisible('[data-passkey-sign-in-button]'), false)
        assert.equal(await page.isVisible('main form button[type="submit"]'), true)
        assert.deepEqual(watch.problems(), [])
        await context.close()
      },
    )
  },
)
