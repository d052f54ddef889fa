import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { hashSessionValue } from '../../src/security/sessions/index.ts'
import { CHALLENGE_TTL_MS } from '../../src/modules/passkeys/passkeys.service.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import {
  addPasskey,
  createSoftAuthenticator,
  PASSKEY_ORIGIN,
  PASSKEY_PUBLIC_URL,
  passkeySignIn,
  signInOptions,
} from '../support/passkeys.ts'

/**
 * Passkeys on each database: the whole round, and the races the database decides (one challenge
 * answered twice at once, one counter value used twice at once): exactly one wins, never a 500.
 */
for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`passkeys on ${kind}`, () => {
    let t: TestApp
    const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })
    before(async () => {
      t = await buildTestApp({
        env: { ...MANY_USERS_ENV, PUBLIC_URL: PASSKEY_PUBLIC_URL },
        database: kind,
        ...(postgresUrl ? { postgresUrl } : {}),
      })
    })
    after(() => t.close())

    test('add, list, sign in, remove: the whole round on this database', async () => {
      const ada = await signedIn(t)
      const { credential, id } = await addPasskey(ada.agent, device, 'Phone')
      const listed = (await ada.agent.get('/api/passkeys')).json().passkeys
      assert.deepEqual(
        listed.map((p: { id: number; name: string }) => [p.id, p.name]),
        [[id, 'Phone']],
      )
      const browser = createAgent(t)
      // A counter beyond 2^31: the column holds an unsigned 32-bit value on both databases.
      const res = await passkeySignIn(browser, device, credential, { counter: 2 ** 32 - 2 })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().user.id, ada.id)
      assert.equal((await passkeySignIn(createAgent(t), device, credential, { counter: 2 ** 32 - 1 })).statusCode, 200)
      assert.equal((await ada.agent.delete(`/api/passkeys/${id}`)).statusCode, 204)
      assert.equal((await passkeySignIn(createAgent(t), device, credential, { counter: 1 })).statusCode, 401)
    })

    test('one answer sent twice at once: one 200, one 401', async () => {
      const ada = await signedIn(t)
      const { credential } = await addPasskey(ada.agent, device)
      const browser = createAgent(t)
      const options = await signInOptions(browser)
      const assertion = device.assert(options, credential)
      const statuses = await Promise.all(
        [1, 2].map(() =>
          browser
            .request({ method: 'POST', url: '/api/login/passkey', json: { credential: assertion } })
            .then((r) => r.statusCode),
        ),
      )
      assert.deepEqual(statuses.sort(), [200, 401])
    })

    test('two sessions answering with the same counter value at once: one signs in', async () => {
      const ada = await signedIn(t)
      const { credential } = await addPasskey(ada.agent, device)
      const browsers = [createAgent(t), createAgent(t)]
      const answers = await Promise.all(
        browsers.map(async (b) => device.assert(await signInOptions(b), credential, { counter: 7 })),
      )
      const statuses = await Promise.all(
        browsers.map((b, i) =>
          b.post('/api/login/passkey', { json: { credential: answers[i] } }).then((r) => r.statusCode),
        ),
      )
      assert.deepEqual(statuses.sort(), [200, 401])
    })

    test('a challenge kept in the database expires on the clock; the session ending takes it along', async () => {
      const ada = await signedIn(t)
      const { credential } = await addPasskey(ada.agent, device)
      const browser = createAgent(t)
      const options = await signInOptions(browser)
      t.clock.advance(CHALLENGE_TTL_MS)
      const late = await browser.post('/api/login/passkey', {
        json: { credential: device.assert(options, credential) },
      })
      assert.equal(late.statusCode, 401)
      await signInOptions(browser)
      const sessionIdHash = hashSessionValue(browser.sessionCookie()!)
      const pending = () =>
        t.database.db
          .selectFrom('webauthn_challenges')
          .select('purpose')
          .where('session_id_hash', '=', sessionIdHash)
          .execute()
      assert.deepEqual(await pending(), [{ purpose: 'authentication' }])
      await browser.post('/api/logout')
      assert.deepEqual(await pending(), [])
    })
  })
}
