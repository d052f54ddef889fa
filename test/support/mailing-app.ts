import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import { buildTestApp, type TestApp } from './app.ts'
import { MANY_USERS_ENV } from './factories.ts'
import { eventually } from './mail.ts'
import { isVerificationMail, startTestSmtpServer, type ReceivedMail, type TestSmtpServer } from './smtp.ts'

/** PUBLIC_URL of the apps made here: every link in their mail starts with it. */
export const MAILING_PUBLIC_URL = 'https://learn.example.org'
const VERIFICATION_LINK = /https:\/\/learn\.example\.org\/verify-email\/([A-Za-z0-9_-]+)/

/** Addresses compare without case, as Lectern compares them. */
export const sentTo = (mail: ReceivedMail, to: string) =>
  mail.envelopeTo.some((address) => address.toLowerCase() === to.toLowerCase())

/**
 * For a suite (call it inside `describe`): a real SMTP server, an app mailing to it under
 * MAILING_PUBLIC_URL, and a mailbox to read. When the suite ends, every log line the app wrote is
 * checked for every token it mailed: none may appear.
 */
export function mailingApp(env: Record<string, string> = {}) {
  const state = {} as { t: TestApp; smtp: TestSmtpServer }
  const seenTokens: string[] = []
  const taken = new Set<ReceivedMail>()

  before(async () => {
    state.smtp = await startTestSmtpServer()
    state.t = await buildTestApp({
      env: {
        ...MANY_USERS_ENV,
        SMTP_URL: state.smtp.url(),
        PUBLIC_URL: MAILING_PUBLIC_URL,
        RATE_LIMIT_PASSWORD_RESET: '100000/1h',
        ...env,
      },
    })
  })
  after(async () => {
    // Every line the app wrote, scanned for every token it mailed.
    const lines = state.t.logs().map((record) => JSON.stringify(record))
    await state.t.close()
    await state.smtp.stop()
    assert.ok(seenTokens.length > 0)
    for (const token of seenTokens) {
      for (const line of lines) assert.ok(!line.includes(token), `a token in a log line: ${line}`)
    }
  })

  /** The next message to `to` that no test has looked at yet, among those `which` accepts. */
  async function nextMailTo(to: string, which: (mail: ReceivedMail) => boolean = () => true) {
    const find = () => state.smtp.received.find((mail) => !taken.has(mail) && which(mail) && sentTo(mail, to))
    await eventually(() => find() !== undefined, `a message to ${to}`)
    const mail = find()!
    taken.add(mail)
    return mail
  }

  /** The token of the next verification link mailed to `to`. */
  async function linkMailedTo(to: string) {
    const mail = await nextMailTo(to, isVerificationMail)
    const match = VERIFICATION_LINK.exec(mail.parsed.text ?? '')
    assert.ok(match, `no verification link in ${mail.parsed.text}`)
    seenTokens.push(match[1]!)
    return { token: match[1]!, mail }
  }

  /** Verification messages `to` was sent so far (looked at or not). */
  const verificationMailsTo = (to: string) =>
    state.smtp.received.filter((mail) => isVerificationMail(mail) && sentTo(mail, to))

  return { state, nextMailTo, linkMailedTo, verificationMailsTo }
}
