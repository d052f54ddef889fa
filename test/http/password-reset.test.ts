import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createHash } from 'node:crypto'
import { createAgent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { eventually } from '../support/mail.ts'
import { isVerificationMail, startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.ts'

const PUBLIC_URL = 'https://learn.example.org'
const TTL_MS = 30 * 60 * 1000
const HOUR_MS = 60 * 60 * 1000
const LINK = /https:\/\/learn\.example\.org\/reset-password\/([A-Za-z0-9_-]+)/
const NEW_PASSWORD = 'an entirely new passphrase'

/** Headers that differ between any two responses, whatever they answer. */
const PER_RESPONSE_HEADERS = new Set(['x-request-id', 'date', 'set-cookie', 'ratelimit-remaining'])

function comparableHeaders(res: AgentResponse) {
  return Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_RESPONSE_HEADERS.has(name)))
}

describe('password reset over the API (CONTRACT §10)', () => {
  let t: TestApp
  let smtp: TestSmtpServer
  /** Every token this suite was given: none of them may ever appear in a log line. */
  const seenTokens: string[] = []

  before(async () => {
    smtp = await startTestSmtpServer()
    t = await buildTestApp({
      env: { ...MANY_USERS_ENV, SMTP_URL: smtp.url(), PUBLIC_URL, RATE_LIMIT_PASSWORD_RESET: '100000/1h' },
    })
  })
  after(async () => {
    // Every line the suite's app wrote, scanned for every token and link it handed out.
    const lines = t.logs().map((record) => JSON.stringify(record))
    await t.close()
    await smtp.stop()
    assert.ok(seenTokens.length > 5)
    for (const token of seenTokens) {
      for (const line of lines) assert.ok(!line.includes(token), `a token in a log line: ${line}`)
    }
  })

  const requested = () => t.events('password_reset_requested')

  /** POST /api/password/forgot, then waits for the work done after the answer. */
  async function forgot(email: string, headers: Record<string, string> = {}) {
    const before = requested().length
    const res = await createAgent(t).post('/api/password/forgot', { json: { email }, headers })
    await eventually(() => requested().length > before, 'password_reset_requested')
    return { res, outcome: (requested().at(-1)!.extra as { outcome: string }).outcome }
  }

  /** Messages already looked at by a test. */
  const taken = new Set<ReceivedMail>()

  /** The next message to `to` no test has looked at yet (mail goes out after the answer, over SMTP). */
  async function nextMailTo(to: string): Promise<ReceivedMail> {
    const find = () =>
      smtp.received.find((mail) => !taken.has(mail) && !isVerificationMail(mail) && mail.envelopeTo.includes(to))
    await eventually(() => find() !== undefined, `a message to ${to}`)
    const mail = find()!
    taken.add(mail)
    return mail
  }

  const mailsTo = (to: string) =>
    smtp.received.filter((mail) => !isVerificationMail(mail) && mail.envelopeTo.includes(to))

  async function linkMailedTo(to: string) {
    const mail = await nextMailTo(to)
    const match = LINK.exec(mail.parsed.text ?? '')
    assert.ok(match, `no reset link in ${mail.parsed.text}`)
    seenTokens.push(match[1]!)
    return { token: match[1]!, mail }
  }

  async function tokenFor(user: SignedInUser) {
    const { outcome } = await forgot(user.email)
    assert.equal(outcome, 'sent')
    return (await linkMailedTo(user.email)).token
  }

  const reset = (token: string, newPassword = NEW_PASSWORD) =>
    createAgent(t).post('/api/password/reset', { json: { token, new_password: newPassword } })

  const login = (user: SignedInUser, password: string) =>
    createAgent(t).post('/api/login', { json: { username: user.username, password } })

  test('a known address is emailed a link under PUBLIC_URL, never the Host it was asked through', async () => {
    const user = await signedIn(t)
    const { res, outcome } = await forgot(user.email.toUpperCase(), {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
    })
    assert.equal(res.statusCode, 202)
    assert.deepEqual(res.json(), { status: 'accepted' })
    assert.equal(outcome, 'sent')
    const { token, mail } = await linkMailedTo(user.email)
    assert.ok(!mail.raw.includes('evil.example'))
    assert.equal(Buffer.from(token, 'base64url').length, 32) // 256 random bits
    // Stored only as its SHA-256
    const rows = await t.database.db
      .selectFrom('password_reset_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute()
    assert.equal(rows.length, 1)
    assert.equal(rows[0]!.token_hash, createHash('sha256').update(token).digest('hex'))
    assert.ok(!JSON.stringify(rows).includes(token))
    // The event names the account, never the address
    const event = JSON.stringify(requested().at(-1))
    assert.ok(!event.toLowerCase().includes(user.email.toLowerCase()))
  })

  test('the request’s trace stays in its log lines: the mail it sends over SMTP carries no trace header', async () => {
    const user = await signedIn(t)
    const traceId = '0af7651916cd43dd8448eb211c80319c'
    const traceparent = `00-${traceId}-b7ad6b7169203331-01`
    const { res, outcome } = await forgot(user.email, { traceparent, tracestate: 'congo=t61rcWkgMzE' })
    assert.equal(outcome, 'sent')
    // The decision, logged after the answer, is still a line of that request.
    assert.equal(requested().at(-1)!.trace_id, traceId)
    assert.equal(requested().at(-1)!.request_id, res.headers['x-request-id'])
    const { mail } = await linkMailedTo(user.email)
    const headerNames = [...mail.parsed.headers.keys()]
    for (const name of ['traceparent', 'tracestate', 'traceresponse', 'x-request-id']) {
      assert.ok(!headerNames.includes(name), `${name} in ${headerNames.join(', ')}`)
    }
    assert.ok(!mail.raw.includes(traceId), 'the trace id nowhere in the message')
    assert.ok(!mail.raw.includes('t61rcWkgMzE'), 'nor the caller’s tracestate')
  })

  test('known, unknown and disabled addresses get the same answer; only the known one gets mail', async () => {
    const known = await signedIn(t)
    const disabled = await signedIn(t)
    await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', disabled.id).execute()
    const answers = []
    for (const [email, expected] of [
      ['nobody-here@example.org', 'unknown_address'],
      [disabled.email, 'account_disabled'],
      [known.email, 'sent'],
    ] as const) {
      const { res, outcome } = await forgot(email)
      assert.equal(outcome, expected)
      answers.push(res)
    }
    for (const res of answers) {
      assert.equal(res.statusCode, answers[0]!.statusCode)
      assert.equal(res.body, answers[0]!.body)
      assert.deepEqual(comparableHeaders(res), comparableHeaders(answers[0]!))
    }
    // The known account's message went out after the two others were decided: they sent nothing.
    await linkMailedTo(known.email)
    assert.equal(mailsTo(disabled.email).length, 0)
    assert.equal(mailsTo('nobody-here@example.org').length, 0)
  })

  test('a reset replaces the password, ends every session, voids the other links and sends the notice', async () => {
    const user = await signedIn(t)
    const other = await tokenFor(user)
    const token = await tokenFor(user)
    assert.equal((await user.agent.get('/api/me')).statusCode, 200)

    const res = await reset(token)
    assert.equal(res.statusCode, 204)
    assert.equal((await user.agent.get('/api/me')).statusCode, 401)
    assert.equal((await login(user, user.password)).statusCode, 401)
    assert.equal((await login(user, NEW_PASSWORD)).statusCode, 200)
    const notice = await nextMailTo(user.email)
    assert.match(notice.parsed.subject ?? '', /was changed/)
    const event = t.events('password_reset').at(-1)!
    assert.equal((event.extra as { target_user_id: number }).target_user_id, user.id)

    for (const used of [token, other]) {
      const again = await reset(used, 'yet another new passphrase')
      assert.equal(again.statusCode, 400)
      assert.equal(again.json().error, 'Invalid or expired reset link')
    }
    assert.equal((await reset('not-a-token-at-all')).json().error, 'Invalid or expired reset link')
  })

  test('a password the registration rules refuse is a 400 that leaves the link working', async () => {
    const user = await signedIn(t)
    const token = await tokenFor(user)
    const weak = await reset(token, 'password')
    assert.equal(weak.statusCode, 400)
    assert.notEqual(weak.json().error, 'Invalid or expired reset link')
    assert.equal((await reset(token)).statusCode, 204)
  })

  test('a link works until 1 ms before PASSWORD_RESET_TTL, and not at it', async () => {
    const early = await signedIn(t)
    const late = await signedIn(t)
    const earlyToken = await tokenFor(early)
    const lateToken = await tokenFor(late)
    t.clock.advance(TTL_MS - 1)
    assert.equal((await reset(earlyToken)).statusCode, 204)
    t.clock.advance(1)
    const expired = await reset(lateToken)
    assert.equal(expired.statusCode, 400)
    assert.equal(expired.json().error, 'Invalid or expired reset link')
  })

  test('two resets racing with one token: exactly one succeeds', async () => {
    const user = await signedIn(t)
    const token = await tokenFor(user)
    const results = await Promise.all([
      reset(token, 'first racing passphrase'),
      reset(token, 'second racing passphrase'),
    ])
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [204, 400])
  })

  test('a link of an account disabled since it was sent is refused like an unknown one', async () => {
    const user = await signedIn(t)
    const token = await tokenFor(user)
    await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
    const res = await reset(token)
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error, 'Invalid or expired reset link')
  })

  test('at most 3 emails per account per hour: the 4th sends nothing, an hour later one is sent', async () => {
    const user = await signedIn(t)
    for (let i = 0; i < 3; i++) await tokenFor(user)
    const { res, outcome } = await forgot(user.email)
    assert.equal(res.statusCode, 202)
    assert.deepEqual(res.json(), { status: 'accepted' })
    assert.equal(outcome, 'capped')
    t.clock.advance(HOUR_MS)
    await tokenFor(user)
    // The message after the hour is the account's 4th: nothing went out for the refused request.
    assert.equal(mailsTo(user.email).length, 4)
  })

  test('a change of password voids the links still out and emails the notice', async () => {
    const user = await signedIn(t)
    const token = await tokenFor(user)
    const changed = await user.agent.post('/api/profile/password', {
      json: { current_password: user.password, new_password: NEW_PASSWORD },
    })
    assert.equal(changed.statusCode, 204)
    const notice = await nextMailTo(user.email)
    assert.match(notice.parsed.subject ?? '', /was changed/)
    assert.equal((await reset(token, 'some other passphrase')).statusCode, 400)
  })

  test('an admin gets a one-time link for an account, also emailed to it, logged without the link', async () => {
    const admin = await signedIn(t, 'admin')
    const user = await signedIn(t)
    const res = await admin.agent.post(`/api/admin/users/${user.id}/password-reset`)
    assert.equal(res.statusCode, 201)
    const body = res.json() as { reset_url: string; expires_at: string }
    assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'reset_url'])
    const match = LINK.exec(body.reset_url)
    assert.ok(match)
    seenTokens.push(match[1]!)
    assert.equal(body.expires_at, new Date(t.clock.now() + TTL_MS).toISOString())
    const { token } = await linkMailedTo(user.email)
    assert.equal(token, match[1]) // the same one-time link, handed over and emailed
    const action = t.events('admin_action').at(-1)!
    assert.equal((action.extra as { action: string }).action, 'password_reset_link')
    assert.equal((await reset(match[1]!)).statusCode, 204)

    assert.equal((await admin.agent.post('/api/admin/users/999999/password-reset')).statusCode, 404)
    assert.equal((await user.agent.post(`/api/admin/users/${admin.id}/password-reset`)).statusCode, 401) // signed out by the reset
    const learner = await signedIn(t)
    assert.equal((await learner.agent.post(`/api/admin/users/${admin.id}/password-reset`)).statusCode, 403)
    assert.equal((await createAgent(t).post(`/api/admin/users/${admin.id}/password-reset`)).statusCode, 401)
  })

  test('a path carrying a token is logged with the token redacted', async () => {
    const user = await signedIn(t)
    const token = await tokenFor(user)
    await createAgent(t).get(`/reset-password/${token}?x=1`)
    const paths = t.events('request_received').map((line) => line.path)
    assert.ok(paths.includes('/reset-password/[redacted]'))
    // Spelled with escapes, the path still reaches the page: it is judged as the router decodes it.
    for (const spelling of ['/reset%2Dpassword', '/%72eset-password']) {
      const res = await createAgent(t).get(`${spelling}/${token}`)
      assert.equal(res.statusCode, 200, spelling)
      const line = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
      assert.equal(line?.path, '/reset-password/[redacted]', spelling)
    }
  })
})

describe('password reset rate limits (RATE_LIMIT_PASSWORD_RESET)', () => {
  test('every request and every token tried counts per client IP; past the limit, 429', async () => {
    const t = await buildTestApp({ env: { ...MANY_USERS_ENV, RATE_LIMIT_PASSWORD_RESET: '3/1h' } })
    try {
      const agent = createAgent(t)
      const statuses = []
      for (let i = 0; i < 2; i++) {
        statuses.push((await agent.post('/api/password/forgot', { json: { email: `x${i}@example.org` } })).statusCode)
      }
      statuses.push(
        (await agent.post('/api/password/reset', { json: { token: 'guess', new_password: NEW_PASSWORD } })).statusCode,
      )
      assert.deepEqual(statuses, [202, 202, 400])
      const refused = await agent.post('/api/password/reset', { json: { token: 'guess2', new_password: NEW_PASSWORD } })
      assert.equal(refused.statusCode, 429)
      assert.ok(refused.headers['retry-after'])
      assert.equal((await agent.post('/api/password/forgot', { json: { email: 'y@example.org' } })).statusCode, 429)
      t.clock.advance(HOUR_MS)
      assert.equal((await agent.post('/api/password/forgot', { json: { email: 'y@example.org' } })).statusCode, 202)
      await eventually(() => t.events('password_reset_requested').length === 3, 'the requests to be worked out')
    } finally {
      await t.close()
    }
  })
})
