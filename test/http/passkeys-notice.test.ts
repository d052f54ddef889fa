/**
 * A passkey added to an account is mailed to the account's address: whoever borrowed a signed-in
 * session (an unlocked laptop) could otherwise add their own passkey, and it would keep signing
 * them in after the owner changed the password and every session ended.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { MailMessage } from '../../src/mail/mailer.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { addPasskey, createSoftAuthenticator, PASSKEY_ORIGIN, PASSKEY_PUBLIC_URL } from '../support/passkeys.ts'

describe('a passkey added is mailed to the account (CONTRACT §11)', () => {
  let t: TestApp
  const sent: MailMessage[] = []
  const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })
  before(async () => {
    t = await buildTestApp({
      env: { ...MANY_USERS_ENV, PUBLIC_URL: PASSKEY_PUBLIC_URL },
      deps: { mailer: { send: (message) => void sent.push(message), close: async () => {} } },
    })
  })
  after(() => t.close())

  test('adding one sends "passkey_added" to the owner, with when; a refused registration sends nothing', async () => {
    const ada = await signedIn(t)
    const before = sent.length
    const refused = await ada.agent.post('/api/passkeys', { json: { credential: { id: 'x', rawId: 'x' } } })
    assert.notEqual(refused.statusCode, 201)
    assert.equal(sent.length, before)

    await addPasskey(ada.agent, device, 'Borrowed laptop')
    const notices = sent.slice(before)
    assert.equal(notices.length, 1)
    const [notice] = notices
    assert.equal(notice!.kind, 'passkey_added')
    assert.equal(notice!.to, ada.email)
    assert.deepEqual(notice!.data, { username: ada.username, addedAt: t.clock.now() })
  })
})
