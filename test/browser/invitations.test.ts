import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createWork, insertAccount } from '../support/factories.ts'
import { eventually } from '../support/mail.ts'
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  PASSWORD,
  screenshot,
  signedInContext,
  startLiveApp,
  STEP,
  submit,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
  type LiveApp,
} from './harness.ts'

const PUBLIC_URL = 'https://learn.example.org'
const LEARNER = 'pupil@school.example'

describe(
  'in a real browser: an admin invites a learner, who follows the mailed link into the course (CONTRACT §15)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let smtp: TestSmtpServer
    let session: BrowserSession

    before(async () => {
      smtp = await startTestSmtpServer()
      // Invitation only: the invited learner's way in is the link, the /register page says so.
      live = await startLiveApp({ env: { SMTP_URL: smtp.url(), PUBLIC_URL, REGISTRATION: 'invite' } })
      const { db } = live.t.database
      await insertAccount(db, 'teacher', 'admin', live.t.clock.now(), PASSWORD)
      await createWork(db, 'course', { slug: 'intro-rust', title: 'Intro to Rust', parts: ['Hello', 'Ownership'] })
      session = await launchChromium()
    })
    after(async () => {
      await session?.close()
      await live?.t.close()
      await smtp?.stop()
    })

    test('/admin → the invitation mail → /invite/<token> → registered, signed in, in the course', STEP, async () => {
      const admin = await signedInContext(session, live, 'teacher')
      try {
        await admin.page.goto(`${live.baseUrl}/admin`)
        await admin.page.fill('#invite-emails', `${LEARNER}\nPUPIL@school.example`)
        await admin.page.selectOption('#invite-course', 'intro-rust')
        await admin.page.locator('#invitations-heading').scrollIntoViewIfNeeded()
        await screenshot(admin.page, 'admin-invitations-1280')
        await submit(admin.page, 'form[action="/admin/invitations"] button[type="submit"]')
        assert.match((await admin.page.textContent('h1')) ?? '', /1 invitation sent/)
        assert.match((await admin.page.inputValue('#invite-link-0')) ?? '', /^https:\/\/learn\.example\.org\/invite\//)
        await screenshot(admin.page, 'invitations-sent-1280')
        assert.deepEqual(admin.watch.problems(), [])
      } finally {
        await admin.context.close()
      }

      const find = () => smtp.received.find((mail) => mail.envelopeTo.includes(LEARNER))
      await eventually(() => find() !== undefined, `the invitation to ${LEARNER}`)
      const mail = find()!
      assert.match(mail.parsed.subject ?? '', /^You are invited/)
      const path = /https:\/\/learn\.example\.org(\/invite\/[A-Za-z0-9_-]+)/.exec(mail.parsed.text ?? '')?.[1]
      assert.ok(path, `no link in ${mail.parsed.text}`)

      const learner = await openContext(session)
      try {
        await learner.page.goto(`${live.baseUrl}/register`)
        assert.match((await learner.page.textContent('main')) ?? '', /Registration is by invitation only/)
        await learner.page.goto(`${live.baseUrl}${path}`)
        assert.equal((await learner.page.textContent('#invite-email'))?.trim(), LEARNER)
        assert.match((await learner.page.textContent('main')) ?? '', /enrolled in “Intro to Rust”/)
        await learner.page.fill('#field-username', 'pupil')
        await learner.page.fill('#field-password', PASSWORD)
        await submit(learner.page, 'main form button[type="submit"]')
        assert.equal(new URL(learner.page.url()).pathname, '/courses/intro-rust')
        assert.match((await learner.page.textContent('.notice')) ?? '', /you are enrolled in this course/)
        await screenshot(learner.page, 'invitation-accepted-1280')
        assert.deepEqual(learner.watch.problems(), [])
      } finally {
        await learner.context.close()
      }
    })
  },
)
