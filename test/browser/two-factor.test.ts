import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { totpCodeAt } from '../../src/modules/two-factor/totp.ts'
import { createAgent } from '../support/agent.ts'
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

const STEP_MS = 30_000

describe(
  'in a real browser, JavaScript off: setting up two-factor sign-in and signing in with it (CONTRACT §11)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let session: BrowserSession

    before(async () => {
      live = await startLiveApp()
      session = await launchChromium()
    })
    after(async () => {
      await session?.close()
      await live?.t.close()
    })

    test(
      'profile → set up → scan (the key as text) → code → recovery codes; then password → code → signed in',
      STEP,
      async () => {
        const username = 'twostep'
        const res = await createAgent(live.t.app).post('/api/register', {
          json: { username, email: `${username}@example.org`, password: PASSWORD },
        })
        assert.equal(res.statusCode, 201)

        const setup = await openContext(session, 1280, { javaScript: false })
        try {
          const { page } = setup
          await page.goto(`${live.baseUrl}/login?next=/profile`)
          await page.fill('#field-username', username)
          await page.fill('#field-password', PASSWORD)
          await submit(page, 'main form button[type="submit"]')
          assert.equal(new URL(page.url()).pathname, '/profile')
          await submit(page, 'button:has-text("Set up two-factor sign-in")')
          assert.equal(new URL(page.url()).pathname, '/profile/two-factor')
          assert.ok(await page.locator('svg[role="img"]').isVisible(), 'the QR code is drawn')
          const secret = ((await page.textContent('#two-factor-secret')) ?? '').trim()
          assert.match(secret, /^[A-Z2-7]{32}$/)
          await page.fill('#enable-code', await totpCodeAt(secret, live.t.clock.now()))
          await submit(page, 'button:has-text("Turn on two-factor sign-in")')
          const codes = await page.locator('#recovery-codes li code').allTextContents()
          assert.equal(codes.length, 10)
          await screenshot(page, 'two-factor-recovery-codes-1280')
          assert.deepEqual(setup.watch.problems(), [])

          live.t.clock.advance(STEP_MS)
          const signIn = await openContext(session, 1280, { javaScript: false })
          try {
            const { page: login } = signIn
            await login.goto(`${live.baseUrl}/login`)
            await login.fill('#field-username', username)
            await login.fill('#field-password', PASSWORD)
            await submit(login, 'main form button[type="submit"]')
            assert.equal(new URL(login.url()).pathname, '/login/2fa')
            await login.fill('#field-code', '000000')
            await submit(login, 'main form button[type="submit"]')
            assert.match((await login.textContent('.form-error')) ?? '', /That code did not work/)
            await login.fill('#field-code', await totpCodeAt(secret, live.t.clock.now()))
            await submit(login, 'main form button[type="submit"]')
            assert.equal(new URL(login.url()).pathname, '/me')
            assert.deepEqual(signIn.watch.problems(), [])
          } finally {
            await signIn.context.close()
          }
        } finally {
          await setup.context.close()
        }
      },
    )
  },
)
