/**
 * Two-factor sign-in turned on or off is mailed to the account's address: whoever borrowed a
 * signed-in session could turn on their own authenticator (and lock the owner out at the next
 * sign-in) or turn the owner's off, and the owner would not hear of it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { MailMessage } from '../../src/mail/mailer.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { codeNow, enableTotp } from '../support/two-factor.ts'

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`two-factor sign-in turned on or off is mailed to the account (CONTRACT §11) on ${kind}`, () => {
    let t: TestApp
    const sent: MailMessage[] = []
    const notices = (from: number) => sent.slice(from).filter((m) => m.kind.startsWith('two_factor_'))
    before(async () => {
      t = await buildTestApp({
        env: MANY_USERS_ENV,
        database: kind,
        postgresUrl,
        deps: { mailer: { send: (message) => void sent.push(message), close: async () => {} } },
      })
    })
    after(() => t.close())

    test('a wrong confirming code sends nothing; turning it on sends "two_factor_enabled" to the owner, with when', async () => {
      const ada = await signedIn(t)
      const start = sent.length
      const { secret } = (await ada.agent.post('/api/2fa/totp/setup')).json() as { secret: string }
      const right = await codeNow(t, secret)
      const wrong = await ada.agent.post('/api/2fa/totp/enable', {
        json: { code: right === '000000' ? '000001' : '000000' },
      })
      assert.equal(wrong.statusCode, 400)
      assert.deepEqual(notices(start), [])

      const at = t.clock.now()
      assert.equal((await ada.agent.post('/api/2fa/totp/enable', { json: { code: right } })).statusCode, 200)
      const mails = notices(start)
      assert.equal(mails.length, 1)
      assert.equal(mails[0]!.kind, 'two_factor_enabled')
      assert.equal(mails[0]!.to, ada.email)
      assert.deepEqual(mails[0]!.data, { username: ada.username, changedAt: at })
    })

    test('a wrong password sends nothing; turning it off sends "two_factor_disabled" to the owner', async () => {
      const bob = await enableTotp(t, await signedIn(t))
      const start = sent.length
      const refused = await bob.agent.post('/api/2fa/totp/disable', { json: { current_password: 'not-the-password' } })
      assert.equal(refused.statusCode, 400)
      assert.deepEqual(notices(start), [])

      const at = t.clock.now()
      const res = await bob.agent.post('/api/2fa/totp/disable', { json: { current_password: bob.password } })
      assert.equal(res.statusCode, 204)
      const mails = notices(start)
      assert.equal(mails.length, 1)
      assert.equal(mails[0]!.kind, 'two_factor_disabled')
      assert.equal(mails[0]!.to, bob.email)
      assert.deepEqual(mails[0]!.data, { username: bob.username, changedAt: at })
    })

    test('two disables at once: one 204, one 409, one mail', async () => {
      const cyd = await enableTotp(t, await signedIn(t))
      const start = sent.length
      const both = await Promise.all(
        [1, 2].map(() => cyd.agent.post('/api/2fa/totp/disable', { json: { current_password: cyd.password } })),
      )
      assert.deepEqual(both.map((r) => r.statusCode).sort(), [204, 409])
      assert.equal(notices(start).length, 1)
      assert.equal(t.events('two_factor_disabled').filter((e) => e.user_id === cyd.id).length, 1)
    })

    test("an admin's removal of the factors (a lost phone) is mailed too; removing none sends nothing", async () => {
      const admin = await signedIn(t, 'admin')
      const dee = await enableTotp(t, await signedIn(t))
      const start = sent.length
      assert.equal((await admin.agent.delete(`/api/admin/users/${dee.id}/2fa`)).statusCode, 204)
      const mails = notices(start)
      assert.equal(mails.length, 1)
      assert.equal(mails[0]!.kind, 'two_factor_disabled')
      assert.equal(mails[0]!.to, dee.email)

      const again = sent.length
      assert.equal((await admin.agent.delete(`/api/admin/users/${dee.id}/2fa`)).statusCode, 204)
      assert.deepEqual(notices(again), [])
    })
  })
}
