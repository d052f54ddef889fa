import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, MANY_USERS_ENV, PASSWORD, signedIn } from '../support/factories.ts'
import { eventually } from '../support/mail.ts'
import { sentTo } from '../support/mailing-app.ts'
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts'

const PUBLIC_URL = 'https://learn.example.org'
const LINK = /https:\/\/learn\.example\.org\/invite\/([A-Za-z0-9_-]{43})/

describe('invitations are emailed through the mailer (CONTRACT §10, §15)', () => {
  let t: TestApp
  let smtp: TestSmtpServer
  before(async () => {
    smtp = await startTestSmtpServer()
    t = await buildTestApp({ env: { ...MANY_USERS_ENV, SMTP_URL: smtp.url(), PUBLIC_URL } })
  })
  after(async () => {
    await t.close()
    await smtp.stop()
  })

  test('each address gets its own link under PUBLIC_URL (never the Host it came through), the role and the course', async () => {
    await createWork(t.database.db, 'course', { slug: 'intro', title: 'Intro to Rust', parts: ['One'] })
    const admin = await signedIn(t, 'admin')
    const res = await admin.agent.post('/api/admin/invitations', {
      json: { emails: ['ada@example.org', 'Grace@Example.org'], role: 'instructor', course: 'intro' },
      headers: { host: 'evil.example.net', 'x-forwarded-host': 'evil.example.net' },
    })
    assert.equal(res.statusCode, 201, res.body)
    const answered = (res.json() as { invitations: Array<{ email: string; invite_url: string }> }).invitations
    for (const { email, invite_url: url } of answered) {
      const find = () =>
        smtp.received.find((mail) => sentTo(mail, email) && /^You are invited/.test(mail.parsed.subject ?? ''))
      await eventually(() => find() !== undefined, `the invitation to ${email}`)
      const text = find()!.parsed.text ?? ''
      assert.doesNotMatch(text, /evil\.example\.net/)
      assert.match(text, /as an instructor, enrolled in "Intro to Rust"\./)
      const token = LINK.exec(text)?.[1]
      assert.ok(token, text)
      assert.equal(url, `${PUBLIC_URL}/invite/${token}`)
    }
    // The mailed link works, and nothing in the log carries it.
    const text = smtp.received.find((mail) => sentTo(mail, 'ada@example.org'))!.parsed.text ?? ''
    const token = LINK.exec(text)![1]!
    const registered = await createAgent(t).post('/api/register', {
      json: { invitation: token, username: 'ada', password: PASSWORD },
    })
    assert.equal(registered.statusCode, 201, registered.body)
    const sent = () => t.events('email_sent').filter((line) => (line.extra as { kind?: string }).kind === 'invitation')
    await eventually(() => sent().length === 2, 'two email_sent lines of kind invitation')
    for (const line of t.logs()) assert.ok(!JSON.stringify(line).includes(token), 'a token in a log line')
  })
})
