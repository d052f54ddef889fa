import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { createAgent } from '../support/agent.ts'
import { eventually } from '../support/mail.ts'
import { startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  PASSWORD,
  screenshot,
  startLiveApp,
  STEP,
  submit,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
  type LiveApp,
} from './harness.ts'

const PUBLIC_URL = 'https://learn.example.org'
const NEW_PASSWORD = 'a brand new passphrase for spring'
const SUBMIT = 'main form button[type="submit"]'

describe(
  'in a real browser: recovering a password and confirming an address by email (CONTRACT §10)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let smtp: TestSmtpServer
    let session: BrowserSession
    const taken = new Set<ReceivedMail>()

    before(async () => {
      smtp = await startTestSmtpServer()
      live = await startLiveApp({ env: { SMTP_URL: smtp.url(), PUBLIC_URL, RATE_LIMIT_PASSWORD_RESET: '100/1h' } })
      session = await launchChromium()
    })
    after(async () => {
      await session?.close()
      await live?.t.close()
      await smtp?.stop()
    })

    /**
     * The link of the next message to `to` whose subject matches, opened where the test app
     * listens: the message carries PUBLIC_URL, the path is what the server reads.
     */
    async function linkInMail(to: string, subject: RegExp): Promise<string> {
      const find = () =>
        smtp.received.find(
          (mail) => !taken.has(mail) && mail.envelopeTo.includes(to) && subject.test(mail.parsed.subject ?? ''),
        )
      await eventually(() => find() !== undefined, `a message to ${to}`)
      const mail = find()!
      taken.add(mail)
      const url = /https:\/\/learn\.example\.org(\/[a-z-]+\/[A-Za-z0-9_-]+)/.exec(mail.parsed.text ?? '')
      assert.ok(url, `no link in ${mail.parsed.text}`)
      return `${live.baseUrl}${url[1]}`
    }

    async function register(username: string) {
      const email = `${username}@example.org`
      const res = await createAgent(live.t.app).post('/api/register', { json: { username, email, password: PASSWORD } })
      assert.equal(res.statusCode, 201)
      return email
    }

    async function signIn(page: Page, username: string, password: string) {
      await page.goto(`${live.baseUrl}/login`)
      await page.fill('#field-username', username)
      await page.fill('#field-password', password)
      await submit(page, SUBMIT)
    }

    for (const javaScript of [true, false]) {
      test(
        `forgot password → the mail → the link → a new password → signed in with it (JavaScript ${javaScript ? 'on' : 'off'})`,
        STEP,
        async () => {
          const username = javaScript ? 'forgetful' : 'noscript'
          const email = await register(username)
          const { page, watch, context } = await openContext(session, 1280, { javaScript })
          try {
            await page.goto(`${live.baseUrl}/login`)
            await Promise.all([
              page.waitForURL(`${live.baseUrl}/forgot-password`),
              page.click('text=Forgot your password?'),
            ])
            await page.fill('#field-email', email)
            await submit(page, SUBMIT)
            assert.match(
              (await page.textContent('main')) ?? '',
              /If an account uses that address, we have emailed it a link/,
            )

            const link = await linkInMail(email, /^Reset your password/)
            await page.goto(link)
            assert.match((await page.textContent('h1')) ?? '', /Choose a new password/)
            // A password the rules refuse first: the message next to the field, the link still good.
            await page.fill('#field-password', 'password')
            await submit(page, SUBMIT)
            assert.match((await page.textContent('#field-password-error')) ?? '', /too common/)
            await page.fill('#field-password', NEW_PASSWORD)
            await submit(page, SUBMIT)
            assert.equal(new URL(page.url()).pathname, '/login')
            assert.match((await page.textContent('.notice')) ?? '', /Your password is changed/)
            if (javaScript) await screenshot(page, 'password-reset-done-1280')

            await signIn(page, username, PASSWORD)
            assert.match((await page.textContent('.form-error')) ?? '', /Invalid username or password/)
            await signIn(page, username, NEW_PASSWORD)
            assert.equal(new URL(page.url()).pathname, '/me')
            assert.deepEqual(watch.problems(), [])
          } finally {
            await context.close()
          }
        },
      )
    }

    test('registration → the confirmation mail → the button → the profile says "Verified"', STEP, async () => {
      const { page, watch, context } = await openContext(session)
      try {
        await page.goto(`${live.baseUrl}/register`)
        await page.fill('#field-username', 'confirmer')
        await page.fill('#field-email', 'confirmer@example.org')
        await page.fill('#field-password', PASSWORD)
        await submit(page, SUBMIT)
        assert.equal(new URL(page.url()).pathname, '/me')
        await page.goto(`${live.baseUrl}/profile`)
        assert.match((await page.textContent('#email-status')) ?? '', /Not verified yet/)

        const link = await linkInMail('confirmer@example.org', /^Confirm your email address/)
        await page.goto(link)
        assert.match((await page.textContent('h1')) ?? '', /Confirm your email address/)
        await submit(page, SUBMIT)
        assert.equal(new URL(page.url()).pathname, '/profile')
        assert.match((await page.textContent('.notice')) ?? '', /Your email address is verified/)
        assert.match((await page.textContent('#email-status')) ?? '', /^Verified:/)
        await screenshot(page, 'email-verified-1280')
        assert.deepEqual(watch.problems(), [])
      } finally {
        await context.close()
      }
    })
  },
)
