import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, PASSWORD, signedIn, type SignedInUser } from '../support/factories.ts'
import { mailingApp } from '../support/mailing-app.ts'

const DAY_MS = 24 * 60 * 60 * 1000
const HOUR_MS = 60 * 60 * 1000
const INVALID = 'Invalid or expired verification link'

const verify = (t: TestApp, token: string, agent: Agent = createAgent(t)) =>
  agent.post('/api/email/verify', { json: { token } })

/** `extra` of a log line. */
const extraOf = (line: Record<string, unknown> | undefined) => (line?.extra ?? {}) as Record<string, unknown>

async function me(user: SignedInUser) {
  return (await user.agent.get('/api/me')).json().user as { email: string; email_verified: boolean }
}

describe('email verification over the API (CONTRACT §10)', () => {
  const { state, nextMailTo, linkMailedTo, verificationMailsTo } = mailingApp()

  test('registration mails a link under PUBLIC_URL, never the Host it came through; following it verifies', async () => {
    const t = state.t
    const agent = createAgent(t)
    const res = await agent.post('/api/register', {
      json: { username: 'verena', email: 'Verena@Example.org', password: PASSWORD },
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
    })
    assert.equal(res.statusCode, 201)
    assert.equal(res.json().user.email_verified, false)
    const { token, mail } = await linkMailedTo('Verena@Example.org')
    assert.ok(!mail.raw.includes('evil.example'))
    assert.match(mail.parsed.subject ?? '', /^Confirm your email address on learn\.example\.org$/)
    assert.equal(Buffer.from(token, 'base64url').length, 32) // 256 random bits
    const rows = await t.database.db.selectFrom('email_verification_tokens').selectAll().execute()
    const row = rows.find((r) => r.token_hash === createHash('sha256').update(token).digest('hex'))
    assert.ok(row, 'stored as its SHA-256 only')
    assert.ok(!JSON.stringify(rows).includes(token))
    assert.equal(row.email_lower, 'verena@example.org')

    const verified = await verify(t, token)
    assert.equal(verified.statusCode, 204)
    assert.equal((await agent.get('/api/me')).json().user.email_verified, true)
    const event = t.events('email_verified').at(-1)!
    assert.equal((event.extra as { target_user_id: number }).target_user_id, res.json().user.id)

    const again = await verify(t, token)
    assert.equal(again.statusCode, 400)
    assert.equal(again.json().error, INVALID)
    assert.equal(extraOf(t.events('auth_failure').at(-1)).reason, 'invalid_verification_link')
  })

  test('unknown, malformed and oversized tokens: 400 with the one message, or the schema 400', async () => {
    const t = state.t
    for (const token of ['not-a-token', 'A'.repeat(43)]) {
      const res = await verify(t, token)
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error, INVALID)
    }
    for (const body of [{}, { token: '' }, { token: 'x'.repeat(201) }, { token: 'x', extra: 1 }, { token: 7 }]) {
      const res = await createAgent(t).post('/api/email/verify', { json: body })
      assert.equal(res.statusCode, 400, JSON.stringify(body))
    }
  })

  test('a link works until 1 ms before 24 hours, and not at 24 hours', async () => {
    const t = state.t
    const early = await signedIn(t)
    const late = await signedIn(t)
    const earlyToken = (await linkMailedTo(early.email)).token
    const lateToken = (await linkMailedTo(late.email)).token
    t.clock.advance(DAY_MS - 1)
    assert.equal((await verify(t, earlyToken)).statusCode, 204)
    t.clock.advance(1)
    const expired = await verify(t, lateToken)
    assert.equal(expired.statusCode, 400)
    assert.equal(expired.json().error, INVALID)
    assert.equal((await me(late)).email_verified, false)
  })

  test('two requests racing with one token: exactly one succeeds', async () => {
    const t = state.t
    const user = await signedIn(t)
    const { token } = await linkMailedTo(user.email)
    const results = await Promise.all([verify(t, token), verify(t, token)])
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [204, 400])
  })

  test('a link of an account disabled since it was sent verifies nothing', async () => {
    const t = state.t
    const user = await signedIn(t)
    const { token } = await linkMailedTo(user.email)
    await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
    assert.equal((await verify(t, token)).json().error, INVALID)
    const row = await t.database.db
      .selectFrom('users')
      .select('email_verified')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow()
    assert.equal(row.email_verified, 0)
  })

  test('a change of address: unverified again, the old address told, a link to the new one; old links void', async () => {
    const t = state.t
    const user = await signedIn(t)
    const first = await linkMailedTo(user.email)
    const unused = await user.agent.post('/api/email/verification')
    assert.equal(unused.statusCode, 202)
    const stale = await linkMailedTo(user.email)
    assert.equal((await verify(t, first.token)).statusCode, 204)
    assert.equal((await me(user)).email_verified, true)

    // The same address in other letters is no change: still verified, no mail.
    const sameAddress = await user.agent.patch('/api/profile', { json: { email: user.email.toUpperCase() } })
    assert.equal(sameAddress.statusCode, 200)
    assert.equal(sameAddress.json().user.email_verified, true)

    const newEmail = `moved-${user.username}@example.net`
    const moved = await user.agent.patch('/api/profile', { json: { email: newEmail } })
    assert.equal(moved.statusCode, 200)
    assert.equal(moved.json().user.email_verified, false)
    const notice = await nextMailTo(user.email, (mail) =>
      /email address of your account/.test(mail.parsed.subject ?? ''),
    )
    assert.ok(!notice.raw.includes(newEmail), 'the old address is not told the new one')
    const fresh = await linkMailedTo(newEmail)
    // A link sent to the address the account left verifies nothing, even one sent before and unused.
    assert.equal((await verify(t, stale.token)).json().error, INVALID)
    assert.equal((await verify(t, fresh.token)).statusCode, 204)
    assert.equal((await me(user)).email_verified, true)
  })

  test('POST /api/email/verification: 202 and a fresh link; at most 3 per account per hour, then an hour later one more', async () => {
    const t = state.t
    const user = await signedIn(t) // registration sent the first of the hour's three
    await linkMailedTo(user.email)
    for (let i = 0; i < 2; i++) {
      const res = await user.agent.post('/api/email/verification')
      assert.equal(res.statusCode, 202)
      assert.deepEqual(res.json(), { status: 'accepted' })
      await linkMailedTo(user.email)
    }
    const capped = await user.agent.post('/api/email/verification')
    assert.equal(capped.statusCode, 202)
    assert.deepEqual(capped.json(), { status: 'accepted' })
    assert.equal(extraOf(t.events('email_verification_requested').at(-1)).outcome, 'capped')
    t.clock.advance(HOUR_MS)
    assert.equal((await user.agent.post('/api/email/verification')).statusCode, 202)
    const { token } = await linkMailedTo(user.email)
    assert.equal(verificationMailsTo(user.email).length, 4) // nothing went out for the capped request
    assert.equal((await verify(t, token)).statusCode, 204)
    // Verified: asking again sends nothing.
    const done = await user.agent.post('/api/email/verification')
    assert.equal(done.statusCode, 202)
    assert.equal(extraOf(t.events('email_verification_requested').at(-1)).outcome, 'already_verified')
  })

  test('asking for a link needs a signed-in session (401) and a CSRF token (403), checked before anything', async () => {
    const t = state.t
    const anonymous = createAgent(t)
    assert.equal((await anonymous.post('/api/email/verification')).statusCode, 401)
    const user = await signedIn(t)
    await linkMailedTo(user.email)
    const forged = await user.agent.post('/api/email/verification', { csrf: false })
    assert.equal(forged.statusCode, 403)
    assert.equal(verificationMailsTo(user.email).length, 1)
  })

  test('a class of 30 behind one address confirms its addresses together: no limit per address on links', async () => {
    const t = state.t
    const learners = await Promise.all(Array.from({ length: 30 }, () => signedIn(t, 'learner', 'pupil')))
    const tokens = await Promise.all(learners.map(async (learner) => (await linkMailedTo(learner.email)).token))
    const results = await Promise.all(tokens.map((token) => verify(t, token)))
    assert.deepEqual(
      results.map((r) => r.statusCode),
      tokens.map(() => 204),
    )
  })

  test('the verification page path is logged with its token redacted', async () => {
    const t = state.t
    const user = await signedIn(t)
    const { token } = await linkMailedTo(user.email)
    const res = await createAgent(t).get(`/verify-email/${token}`)
    const line = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal(line?.path, '/verify-email/[redacted]')
  })
})

describe('REQUIRE_EMAIL_VERIFICATION=true (CONTRACT §10)', () => {
  const { state, linkMailedTo, verificationMailsTo } = mailingApp({ REQUIRE_EMAIL_VERIFICATION: 'true' })
  const login = (username: string, password: string, agent = createAgent(state.t)) =>
    agent.post('/api/login', { json: { username, password } })

  test('registration answers 201 without signing in; the right password is 403 until the link is followed', async () => {
    const t = state.t
    const agent = createAgent(t)
    const who = { username: 'waiting', email: 'waiting@example.org', password: PASSWORD }
    const res = await agent.post('/api/register', { json: who })
    assert.equal(res.statusCode, 201)
    assert.equal(res.json().user.email_verified, false)
    assert.equal((await agent.get('/api/me')).statusCode, 401)
    assert.equal(extraOf(t.events('auth_success').at(-1)).signed_in, false)
    await linkMailedTo(who.email)

    const wrong = await login(who.username, 'not the password at all')
    assert.equal(wrong.statusCode, 401)
    const refused = await login(who.username, who.password)
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.json().error, 'Email address not verified')
    assert.equal(extraOf(t.events('auth_failure').at(-1)).reason, 'email_not_verified')
    // The right password was told, so a fresh link went out (the first may be lost).
    const { token } = await linkMailedTo(who.email)
    assert.equal(verificationMailsTo(who.email).length, 2)

    assert.equal((await verify(t, token)).statusCode, 204)
    const signedIn = await login(who.username, who.password, agent)
    assert.equal(signedIn.statusCode, 200)
    assert.equal(signedIn.json().user.email_verified, true)
    assert.equal((await agent.get('/api/me')).statusCode, 200)
  })

  test('waiting accounts signing in from one address use none of its login attempts; the mails stay capped', async () => {
    const t = await buildTestApp({
      env: { REQUIRE_EMAIL_VERIFICATION: 'true', RATE_LIMIT_LOGIN: '3/15m', RATE_LIMIT_REGISTER: '100/1h' },
    })
    try {
      const who = { username: 'patient', email: 'patient@example.org', password: PASSWORD }
      assert.equal((await createAgent(t).post('/api/register', { json: who })).statusCode, 201)
      for (let i = 0; i < 6; i++) {
        const res = await createAgent(t).post('/api/login', {
          json: { username: who.username, password: who.password },
        })
        assert.equal(res.statusCode, 403, `attempt ${i + 1}`)
      }
      const outcomes = t.events('auth_failure').map((line) => extraOf(line).verification_link)
      // Registration sent one; the first two sign-ins one each; then the hour's cap holds.
      assert.deepEqual(outcomes, ['sent', 'sent', 'capped', 'capped', 'capped', 'capped'])
    } finally {
      await t.close()
    }
  })
})

describe('verification emails per client IP (RATE_LIMIT_PASSWORD_RESET)', () => {
  test('asking for links counts per address with the reset requests; past the limit, 429', async () => {
    const t = await buildTestApp({ env: { ...MANY_USERS_ENV, RATE_LIMIT_PASSWORD_RESET: '2/1h' } })
    try {
      const user = await signedIn(t)
      assert.equal(
        (await createAgent(t).post('/api/password/forgot', { json: { email: 'a@example.org' } })).statusCode,
        202,
      )
      assert.equal((await user.agent.post('/api/email/verification')).statusCode, 202)
      const refused = await user.agent.post('/api/email/verification')
      assert.equal(refused.statusCode, 429)
      assert.ok(refused.headers['retry-after'])
      t.clock.advance(HOUR_MS)
      assert.equal((await user.agent.post('/api/email/verification')).statusCode, 202)
    } finally {
      await t.close()
    }
  })
})
