/**
 * Codes as people type them: an authenticator app shows "123 456", a phone keyboard or an input
 * method in full-width mode gives "１２３４５６". Both are the code; recovery codes were already
 * read this way (NFKC), TOTP codes were refused as "Invalid code".
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { withApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { codeNow, passwordStep, totpUser } from '../support/two-factor.ts'

/** The digits of `code` in their full-width forms (U+FF10…U+FF19), as a CJK input method types them. */
const fullWidth = (code: string) => code.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))

describe('TOTP codes typed with full-width digits or spaces (CONTRACT §11)', () => {
  test('set-up is confirmed by a full-width code', () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const user = await signedIn(t)
      const { secret } = (await user.agent.post('/api/2fa/totp/setup')).json() as { secret: string }
      const typed = fullWidth(await codeNow(t, secret))
      const res = await user.agent.post('/api/2fa/totp/enable', { json: { code: typed } })
      assert.equal(res.statusCode, 200, res.body)
    }))

  test('the second step of a sign-in takes "１２３ ４５６"; a full-width wrong code is still wrong, and counted', () =>
    withApp({ env: MANY_USERS_ENV }, async (t) => {
      const user = await totpUser(t)
      const agent = await passwordStep(t, user)
      const code = await codeNow(t, user.secret)
      const wrong = fullWidth(code === '000000' ? '000001' : '000000')
      const refused = await agent.post('/api/login/2fa', { json: { code: wrong } })
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.headers['ratelimit-remaining'], '4')
      const typed = `${fullWidth(code.slice(0, 3))}\u3000${fullWidth(code.slice(3))}`
      const res = await agent.post('/api/login/2fa', { json: { code: typed } })
      assert.equal(res.statusCode, 200, res.body)
    }))
})
