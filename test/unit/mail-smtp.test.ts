import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { createMailerFromConfig, type Mailer } from '../../src/mail/index.ts'
import { createManualTimers, createTestLogger, eventually } from '../support/mail.ts'
import { startTestSmtpServer } from '../support/smtp.ts'

const RELAY = { user: 'lectern@example.org', pass: 'relay-Pa55:word/with@signs' }
const TOKEN = 'tok_5a9c1f0e7d3b2a6c8e4f1d0b9a7c5e3f'
const RECIPIENT = 'ann.learner@example.net'

let dataDir: string
before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lectern-mail-'))
})
after(() => rmSync(dataDir, { recursive: true, force: true }))

function setUp(smtpUrl: string) {
  const log = createTestLogger()
  const manual = createManualTimers(log.clock)
  const config = loadConfig({
    DATA_DIR: dataDir,
    SMTP_URL: smtpUrl,
    PUBLIC_URL: 'https://learn.example.org/',
    MAIL_FROM: 'Example Courses <courses@example.org>',
  })
  const mailer = createMailerFromConfig({ config, logger: log.logger, clock: log.clock, timers: manual.timers })
  return { log, manual, mailer }
}

function sendReset(mailer: Mailer, expiresAt: number) {
  return mailer.send({ to: RECIPIENT, kind: 'password_reset', data: { username: 'ann', token: TOKEN, expiresAt } })
}

/** Nothing the logs must never hold: the relay's password, the token, the link, the full address. */
function assertNoSecrets(lines: string[]) {
  for (const line of lines) {
    for (const secret of [RELAY.pass, encodeURIComponent(RELAY.pass), TOKEN, '/reset-password/', RECIPIENT]) {
      assert.ok(!line.includes(secret), `a log line holds ${secret}: ${line}`)
    }
  }
}

describe('sending over SMTP (CONTRACT §10)', () => {
  test('a message reaches the relay over TCP: From, To, Subject, Date, Message-ID, plain text, a PUBLIC_URL link', async () => {
    const server = await startTestSmtpServer({ credentials: RELAY })
    const { log, mailer } = setUp(server.url(RELAY))
    try {
      const expiresAt = log.clock.now() + 30 * 60_000
      assert.equal(sendReset(mailer, expiresAt), undefined) // nothing to await
      assert.equal(server.received.length, 0, 'send returned before the relay was even contacted')

      const [mail] = await server.waitForMessages(1)
      const { parsed } = mail!
      assert.deepEqual(parsed.from?.value, [{ address: 'courses@example.org', name: 'Example Courses' }])
      assert.deepEqual(mail!.envelopeFrom, 'courses@example.org')
      assert.deepEqual(mail!.envelopeTo, [RECIPIENT])
      assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : null, RECIPIENT)
      assert.equal(parsed.subject, 'Reset your password on learn.example.org')
      assert.equal(parsed.date?.getTime(), log.clock.now(), 'Date comes from the injected clock')
      assert.match(parsed.messageId ?? '', /^<[^<>@\s]+@example\.org>$/)
      assert.match(mail!.raw, /^Content-Type: text\/plain; charset=utf-8\r$/im)
      assert.ok(parsed.text?.includes(`https://learn.example.org/reset-password/${TOKEN}\n`), parsed.text)
      assert.ok(parsed.text?.includes('until 2026-01-15 12:30 UTC'), parsed.text)
      assert.equal(parsed.html, false)
      assert.equal(parsed.attachments.length, 0)
      // Only what the message itself needs: no header from a request, no software banner.
      const headerNames = [...parsed.headers.keys()].sort()
      assert.deepEqual(headerNames, [
        'content-transfer-encoding',
        'content-type',
        'date',
        'from',
        'message-id',
        'mime-version',
        'subject',
        'to',
      ])

      await eventually(() => log.events('email_sent').length === 1, 'email_sent')
      const [sent] = log.events('email_sent')
      assert.equal(sent!.level, 'INFO')
      assert.equal(sent!.extra.kind, 'password_reset')
      assert.equal(sent!.extra.transport, 'smtp')
      assert.equal(sent!.extra.recipient_domain, 'example.net')
      assert.equal(sent!.extra.attempts, 1)
      assert.equal(sent!.extra.message_id, parsed.messageId)
      assertNoSecrets(log.lines)
      assert.deepEqual(log.schemaProblems(), [])
    } finally {
      await mailer.close()
      await server.stop()
    }
  })

  test('a relay that refuses the first attempts (451): retried after 1 s then 4 s, then email_sent', async () => {
    const server = await startTestSmtpServer({ refuse: (transaction) => (transaction <= 2 ? 451 : null) })
    const { log, manual, mailer } = setUp(server.url())
    try {
      sendReset(mailer, log.clock.now() + 60_000)
      await manual.waitForTimers(1)
      assert.equal(server.refused, 1)
      assert.equal(server.received.length, 0)
      manual.fireNext()
      await server.waitForRefusals(2)
      await manual.waitForTimers(1)
      manual.fireNext()
      await server.waitForMessages(1)
      await eventually(() => log.events('email_sent').length === 1, 'email_sent')

      assert.deepEqual(manual.delays, [1000, 4000])
      const failures = log.events('email_failed')
      assert.equal(failures.length, 2, 'each refused attempt is logged')
      for (const [index, failure] of failures.entries()) {
        assert.equal(failure.level, 'WARNING')
        assert.equal(failure.extra.will_retry, true)
        assert.equal(failure.extra.attempts, index + 1)
        assert.equal(failure.extra.response_code, 451)
        assert.equal(failure.extra.transport, 'smtp')
      }
      assert.equal(log.events('email_sent')[0]!.extra.attempts, 3)
      assert.equal(server.received.length, 1, 'delivered once')
      assertNoSecrets(log.lines)
    } finally {
      await mailer.close()
      await server.stop()
    }
  })

  test('a relay that always refuses: email_failed (ERROR) after 3 attempts, nothing more is tried', async () => {
    const server = await startTestSmtpServer({ refuse: () => 451 })
    const { log, manual, mailer } = setUp(server.url())
    try {
      sendReset(mailer, log.clock.now() + 60_000)
      for (let refusal = 1; refusal <= 2; refusal += 1) {
        await manual.waitForTimers(1)
        manual.fireNext()
      }
      await eventually(
        () => log.events('email_failed').some((line) => line.extra.will_retry === false),
        'the last failure',
      )
      assert.equal(server.refused, 3)
      assert.equal(manual.pending(), 0, 'no fourth attempt is scheduled')
      const last = log.events('email_failed').at(-1)!
      assert.equal(last.level, 'ERROR')
      assert.equal(last.extra.reason, 'attempts_exhausted')
      assert.equal(last.extra.attempts, 3)
      assert.equal(last.extra.kind, 'password_reset')
      assert.equal(log.events('email_sent').length, 0)
      assertNoSecrets(log.lines)
      assert.deepEqual(log.schemaProblems(), [])
    } finally {
      await mailer.close()
      await server.stop()
    }
  })

  test('wrong relay credentials: email_failed with the codes only, the password in no log line', async () => {
    const server = await startTestSmtpServer({ credentials: RELAY })
    const { log, manual, mailer } = setUp(server.url({ user: RELAY.user, pass: `${RELAY.pass}-wrong` }))
    try {
      sendReset(mailer, log.clock.now() + 60_000)
      await manual.waitForTimers(1)
      const [failure] = log.events('email_failed')
      assert.equal(failure!.extra.error_code, 'EAUTH')
      assert.equal(failure!.extra.response_code, 535)
      assert.equal(server.received.length, 0)
      assertNoSecrets(log.lines)
      for (const line of log.lines) assert.ok(!line.includes(RELAY.user), line)
    } finally {
      await mailer.close()
      await server.stop()
    }
  })

  test('a relay that never answers holds up neither the sender nor, past its bound, the shutdown', async () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    const { log, manual, mailer } = setUp(`smtp://127.0.0.1:${port}`)
    try {
      const started = performance.now()
      for (let i = 0; i < 50; i += 1) sendReset(mailer, log.clock.now() + 60_000)
      assert.ok(performance.now() - started < 50, 'queueing 50 messages takes no network time')
      await eventually(() => sockets.size === 2, 'two connections (the messages in flight)')
      assert.equal(log.events('email_sent').length + log.events('email_failed').length, 0)

      const closed = mailer.close()
      await manual.waitForTimers(1)
      manual.fireNext() // the close bound passes
      await closed
      const shutdown = log.events('email_failed').filter((line) => line.extra.reason === 'shutdown')
      assert.equal(shutdown.length, 48, 'the queued messages are given up, and each is logged')
      assert.ok(shutdown.every((line) => line.extra.will_retry === false && line.extra.attempts === 0))
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
    // The two in flight fail when their connection drops, and are not retried after the close.
    await eventually(() => log.events('email_failed').length === 50, 'the messages in flight to fail')
    assert.equal(manual.pending(), 0)
    assert.deepEqual(log.schemaProblems(), [])
  })
})
