import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import {
  addPasskey,
  createSoftAuthenticator,
  PASSKEY_ORIGIN,
  PASSKEY_PUBLIC_URL,
  passkeySignIn,
} from '../support/passkeys.ts'

/**
 * A passkey is a second factor like TOTP (CONTRACT §11): an account with only a passkey is never
 * signed in by its password alone, satisfies REQUIRE_2FA_FOR, and loses it when an admin removes
 * its second factors.
 */
describe('passkeys among the second factors', () => {
  let t: TestApp
  const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })
  before(async () => {
    t = await buildTestApp({ env: { ...MANY_USERS_ENV, PUBLIC_URL: PASSKEY_PUBLIC_URL, REQUIRE_2FA_FOR: 'staff' } })
  })
  after(() => t.close())

  test('with a passkey only: two_factor_enabled, the password step asks for more, the passkey signs in', async () => {
    const ada = await signedIn(t)
    assert.equal((await ada.agent.get('/api/me')).json().user.two_factor_enabled, false)
    const { credential } = await addPasskey(ada.agent, device, 'Phone')
    assert.equal((await ada.agent.get('/api/me')).json().user.two_factor_enabled, true)
    await ada.agent.post('/api/logout')

    const browser = createAgent(t)
    const password = await browser.post('/api/login', { json: { username: ada.username, password: ada.password } })
    assert.equal(password.statusCode, 200)
    assert.deepEqual(password.json(), { two_factor_required: true })
    assert.equal((await browser.get('/api/me')).statusCode, 401, 'the password alone signs nobody in')
    assert.equal(
      t
        .events('auth_success')
        .filter((line) => line.user_id === ada.id && (line.extra as { method?: string }).method === 'password').length,
      0,
    )

    const passkey = await passkeySignIn(browser, device, credential)
    assert.equal(passkey.statusCode, 200, passkey.body)
    assert.equal(passkey.json().user.two_factor_enabled, true)
    assert.equal((await browser.get('/api/me')).json().user.id, ada.id)
  })

  test('REQUIRE_2FA_FOR=staff: an instructor is held at set-up until a passkey is added, then let through', async () => {
    const grace = await signedIn(t, 'instructor')
    const held = await grace.agent.get('/api/courses')
    assert.equal(held.statusCode, 403)
    assert.equal(held.json().error, 'Two-factor authentication required')
    await addPasskey(grace.agent, device, 'Laptop')
    assert.equal((await grace.agent.get('/api/courses')).statusCode, 200)
  })

  test('an admin removing the second factors removes the passkeys and ends the sessions; the passkey no longer signs in', async () => {
    const admin = await signedIn(t, 'admin')
    await addPasskey(admin.agent, device, 'Admin key')
    const lin = await signedIn(t)
    const { credential } = await addPasskey(lin.agent, device, 'Phone')

    const removed = await admin.agent.delete(`/api/admin/users/${lin.id}/2fa`)
    assert.equal(removed.statusCode, 204, removed.body)
    assert.equal((await lin.agent.get('/api/me')).statusCode, 401, 'its sessions ended')

    const again = createAgent(t)
    assert.equal((await passkeySignIn(again, device, credential)).statusCode, 401)
    const password = await again.post('/api/login', { json: { username: lin.username, password: lin.password } })
    assert.equal(password.statusCode, 200)
    assert.equal(password.json().user.two_factor_enabled, false, 'signed in by password: no second factor left')
  })
})
