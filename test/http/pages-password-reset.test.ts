import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { eventually } from '../support/mail.ts'
import { isVerificationMail, startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.ts'
import { createPageClient, formsOf, inlineCodeIn, tagOf, textOf, type PageClient } from './pages-support.ts'

const PUBLIC_URL = 'https://learn.example.org'
const LINK = /https:\/\/learn\.example\.org\/reset-password\/([A-Za-z0-9_-]+)/
const NEW_PASSWORD = 'an entirely new passphrase'
const SENT = /If an account uses that address, we have emailed it a link/

/** Headers that differ between any two responses, whatever they answer. */
const PER_RESPONSE_HEADERS = new Set(['x-request-id', 'date', 'set-cookie', 'ratelimit-remaining', 'content-length'])

/** The checks every page passes: HTML, never cached, no inline code, every POST form with its token first. */
function assertGoodPage(res: AgentResponse, status = 200) {
  assert.equal(res.statusCode, status)
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/)
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.match(res.body, /<html lang="en"/)
  assert.deepEqual(inlineCodeIn(res.body), [])
  for (const form of formsOf(res.body).filter((f) => f.method === 'post')) {
    assert.ok(form.hasToken && form.tokenFirst, `csrf_token first in the form to ${form.action}`)
  }
}

describe('pages: password recovery (CONTRACT §10 "Pages")', () => {
  let t: TestApp
  let smtp: TestSmtpServer
  const seenTokens: string[] = []

  before(async () => {
    smtp = await startTestSmtpServer()
    t = await buildTestApp({
      env: { ...MANY_USERS_ENV, SMTP_URL: smtp.url(), PUBLIC_URL, RATE_LIMIT_PASSWORD_RESET: '100000/1h' },
    })
  })
  after(async () => {
    const lines = t.logs().map((record) => JSON.stringify(record))
    await t.close()
    await smtp.stop()
    assert.ok(seenTokens.length >= 3)
    for (const token of seenTokens) {
      for (const line of lines) assert.ok(!line.includes(token), `a token in a log line: ${line}`)
    }
  })

  const requested = () => t.events('password_reset_requested')
  const taken = new Set<ReceivedMail>()

  async function nextMailTo(to: string): Promise<ReceivedMail> {
    const find = () =>
      smtp.received.find((mail) => !taken.has(mail) && !isVerificationMail(mail) && mail.envelopeTo.includes(to))
    await eventually(() => find() !== undefined, `a message to ${to}`)
    const mail = find()!
    taken.add(mail)
    return mail
  }

  /** Asks for a link through the page, as a person would, and waits for the work after the answer. */
  async function forgotThroughPage(browser: PageClient, email: string) {
    await browser.open('/forgot-password')
    const before = requested().length
    const res = await browser.submit('/forgot-password', { email })
    await eventually(() => requested().length > before, 'password_reset_requested')
    return { res, outcome: (requested().at(-1)!.extra as { outcome: string }).outcome }
  }

  async function linkFor(user: SignedInUser) {
    const { outcome } = await forgotThroughPage(createPageClient(t.app), user.email)
    assert.equal(outcome, 'sent')
    const mail = await nextMailTo(user.email)
    const match = LINK.exec(mail.parsed.text ?? '')
    assert.ok(match, `no reset link in ${mail.parsed.text}`)
    seenTokens.push(match[1]!)
    return { token: match[1]!, path: `/reset-password/${match[1]!}` }
  }

  const apiLogin = (user: SignedInUser, password: string) =>
    createAgent(t).post('/api/login', { json: { username: user.username, password } })

  test('the sign-in page links to /forgot-password', async () => {
    const res = await createPageClient(t.app).open('/login')
    assertGoodPage(res)
    assert.match(res.body, /<a href="\/forgot-password">Forgot your password\?<\/a>/)
  })

  test('GET /forgot-password: a form posting to /forgot-password, csrf_token first, a labelled email input', async () => {
    const res = await createPageClient(t.app).open('/forgot-password')
    assertGoodPage(res)
    const [form] = formsOf(res.body).filter((f) => f.action === '/forgot-password')
    assert.ok(form, 'the form')
    assert.equal(form.method, 'post')
    assert.match(res.body, /<label for="field-email">Email address<\/label>/)
    assert.match(tagOf(res.body, 'field-email') ?? '', /type="email"/)
  })

  test('known, unknown and disabled addresses get the same page; only the known one gets mail', async () => {
    const known = await signedIn(t)
    const disabled = await signedIn(t)
    await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', disabled.id).execute()
    const pages = []
    for (const [email, expected] of [
      ['nobody-here@example.org', 'unknown_address'],
      [disabled.email, 'account_disabled'],
      [known.email, 'sent'],
    ] as const) {
      const { res, outcome } = await forgotThroughPage(createPageClient(t.app), email)
      assert.equal(outcome, expected)
      assertGoodPage(res)
      assert.match(res.body, SENT)
      assert.ok(!res.body.includes(email), 'the page never repeats the address')
      pages.push(res)
    }
    // The pages differ only in their CSRF tokens and request ids.
    const comparable = (res: AgentResponse) =>
      res.body.replace(/value="[A-Za-z0-9_-]{20,}"|content="[A-Za-z0-9_-]{20,}"|<code>[^<]*<\/code>/g, '')
    for (const res of pages) {
      assert.equal(res.statusCode, pages[0]!.statusCode)
      assert.equal(comparable(res), comparable(pages[0]!))
      const headers = (r: AgentResponse) =>
        Object.keys(r.headers)
          .filter((name) => !PER_RESPONSE_HEADERS.has(name))
          .sort()
      assert.deepEqual(headers(res), headers(pages[0]!))
    }
    await nextMailTo(known.email)
    assert.equal(
      smtp.received.filter((mail) => !isVerificationMail(mail) && mail.envelopeTo.includes(disabled.email)).length,
      0,
    )
  })

  test('an empty address: the form again, 400, the message next to the field', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/forgot-password')
    const res = await browser.submit('/forgot-password', { email: '' })
    assertGoodPage(res, 400)
    assert.equal(textOf(res.body, 'field-email-error'), 'Error: Enter the email address of your account.')
    assert.match(tagOf(res.body, 'field-email') ?? '', /aria-invalid="true"/)
    assert.doesNotMatch(res.body, SENT)
  })

  test('opening the link changes nothing, however often; the page says no-referrer and holds the token only in the action', async () => {
    const user = await signedIn(t)
    const { token, path } = await linkFor(user)
    for (let i = 0; i < 3; i++) {
      const res = await createPageClient(t.app).open(path)
      assertGoodPage(res)
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      const [form] = formsOf(res.body).filter((f) => f.action === path)
      assert.ok(form, 'the form posts back to the link')
      assert.equal(res.body.split(token).length - 1, 1, 'the token appears once, in the action')
      assert.match(res.body, /<label for="field-password">New password<\/label>/)
      assert.match(tagOf(res.body, 'field-password') ?? '', /type="password"/)
    }
    // Still signed in, the old password still works, and the link still resets it.
    assert.equal((await user.agent.get('/api/me')).statusCode, 200)
    assert.equal((await apiLogin(user, user.password)).statusCode, 200)
    const reset = await createAgent(t).post('/api/password/reset', { json: { token, new_password: NEW_PASSWORD } })
    assert.equal(reset.statusCode, 204)
  })

  test('the whole way: forgot → mail → link → new password → 303 /login with a notice → the new password signs in, the old does not', async () => {
    const user = await signedIn(t)
    const { path } = await linkFor(user)
    const browser = createPageClient(t.app)
    await browser.open(path)
    const done = await browser.submit(path, { password: NEW_PASSWORD })
    assert.equal(done.statusCode, 303)
    assert.equal(done.headers['referrer-policy'], 'no-referrer')
    assert.equal(done.headers.location, '/login?notice=password-reset')
    const login = await browser.follow(done)
    assertGoodPage(login)
    assert.match(login.body, /role="status">Your password is changed/)
    assert.equal((await user.agent.get('/api/me')).statusCode, 401, 'every session ended')
    const wrong = await browser.submit('/login', { username: user.username, password: user.password })
    assert.equal(wrong.statusCode, 401)
    const right = await browser.submit('/login', { username: user.username, password: NEW_PASSWORD })
    assert.equal(right.statusCode, 303)
    const event = t.events('password_reset').at(-1)!
    assert.equal((event.extra as { target_user_id: number }).target_user_id, user.id)
  })

  test('a used, unknown or expired link: 400, "Invalid or expired reset link", a way to ask for a new one', async () => {
    const user = await signedIn(t)
    const { path } = await linkFor(user)
    const browser = createPageClient(t.app)
    await browser.open(path)
    assert.equal((await browser.submit(path, { password: NEW_PASSWORD })).statusCode, 303)
    for (const link of [path, '/reset-password/not-a-token-at-all', `/reset-password/${'x'.repeat(300)}`]) {
      await browser.open(link)
      const failures = t.events('auth_failure').length
      const res = await browser.submit(link, { password: 'yet another new passphrase' })
      assertGoodPage(res, 400)
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      assert.equal(textOf(res.body, 'reset-invalid'), 'Invalid or expired reset link')
      assert.match(res.body, /<a class="button" href="\/forgot-password">/)
      assert.equal(formsOf(res.body).filter((f) => f.action.startsWith('/reset-password')).length, 0)
      if (!link.includes('xxx')) assert.equal(t.events('auth_failure').length, failures + 1)
    }
    assert.equal((await apiLogin(user, NEW_PASSWORD)).statusCode, 200)
  })

  test('a password the rules refuse: the form again with the message next to it, the link still works', async () => {
    const user = await signedIn(t)
    const { path } = await linkFor(user)
    const browser = createPageClient(t.app)
    await browser.open(path)
    const weak = await browser.submit(path, { password: 'password' })
    assertGoodPage(weak, 400)
    assert.equal(textOf(weak.body, 'field-password-error'), 'Error: Password is too common; choose another')
    assert.ok(
      formsOf(weak.body).some((f) => f.action === path),
      'the form posts to the same link',
    )
    const short = await browser.submit(path, { password: 'short' })
    assertGoodPage(short, 400)
    assert.match(textOf(short.body, 'field-password-error') ?? '', /at least 8 characters/)
    assert.equal((await browser.submit(path, { password: NEW_PASSWORD })).statusCode, 303)
    assert.equal((await apiLogin(user, NEW_PASSWORD)).statusCode, 200)
  })

  test('request lines name the link page as /reset-password/[redacted]', () => {
    const paths = t
      .events('request_complete')
      .map((line) => String((line as { path?: unknown }).path ?? ''))
      .filter((path) => path.startsWith('/reset-password/'))
    assert.ok(paths.length > 5)
    for (const path of paths) assert.equal(path, '/reset-password/[redacted]')
  })
})

describe('pages: password recovery rate limit', () => {
  test('the forms count against RATE_LIMIT_PASSWORD_RESET with the API: past it, 429 with Retry-After', async () => {
    const t = await buildTestApp({ env: { RATE_LIMIT_PASSWORD_RESET: '3/1h' } })
    try {
      const browser = createPageClient(t.app)
      await browser.open('/forgot-password')
      assert.equal((await browser.submit('/forgot-password', { email: 'a@example.org' })).statusCode, 200)
      const api = await createAgent(t).post('/api/password/forgot', { json: { email: 'a@example.org' } })
      assert.equal(api.statusCode, 202)
      await browser.open('/reset-password/some-token')
      assert.equal((await browser.submit('/reset-password/some-token', { password: NEW_PASSWORD })).statusCode, 400)
      // The fourth attempt, whichever form: 429, and the link page still tells no referrer.
      for (const [url, fields] of [
        ['/forgot-password', { email: 'a@example.org' }],
        ['/reset-password/some-token', { password: NEW_PASSWORD }],
      ] as const) {
        await browser.open(url)
        const res = await browser.submit(url, fields)
        assertGoodPage(res, 429)
        assert.match(String(res.headers['retry-after']), /^\d+$/)
        assert.match(res.body, /Too many attempts, try again in \d+ minutes?/)
        if (url.startsWith('/reset-password/')) assert.equal(res.headers['referrer-policy'], 'no-referrer')
      }
      const limited = t.events('request_complete').filter((line) => line.status_code === 429)
      assert.equal(limited.length, 2)
    } finally {
      await t.close()
    }
  })
})
