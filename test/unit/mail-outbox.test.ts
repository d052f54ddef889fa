import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { simpleParser } from 'mailparser'
import { loadConfig } from '../../src/config/index.ts'
import { createMailerFromConfig } from '../../src/mail/index.ts'
import { createManualTimers, createTestLogger, eventually } from '../support/mail.ts'

const TOKEN = 'verify_0f1e2d3c4b5a69788796a5b4c3d2e1f0'

let dataDir: string
let umask: number
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lectern-outbox-'))
  umask = process.umask(0) // the widest umask: every mode must be set explicitly
})
afterEach(() => {
  process.umask(umask)
  rmSync(dataDir, { recursive: true, force: true })
})

function setUp(env: Record<string, string> = {}) {
  const log = createTestLogger()
  const manual = createManualTimers(log.clock)
  const config = loadConfig({ DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '8080', ...env })
  const mailer = createMailerFromConfig({ config, logger: log.logger, clock: log.clock, timers: manual.timers })
  return { log, manual, mailer, outbox: join(dataDir, 'outbox') }
}

describe('the outbox: no SMTP_URL (CONTRACT §10)', () => {
  test('each message is one RFC 5322 .eml file, 0600 in a 0700 folder, links from HOST:PORT', async () => {
    const { log, mailer, outbox } = setUp()
    mailer.send({
      to: 'ben@example.com',
      kind: 'email_verification',
      data: { username: 'ben', token: TOKEN, expiresAt: log.clock.now() + 86_400_000 },
    })
    await eventually(() => log.events('email_sent').length === 1, 'email_sent')
    await mailer.close()

    assert.equal(statSync(outbox).mode & 0o777, 0o700)
    const files = readdirSync(outbox)
    assert.equal(files.length, 1, `only the message, no temporary file: ${files.join(', ')}`)
    assert.match(files[0]!, /^20260115T120000000Z-[0-9a-f]{12}\.eml$/)
    const path = join(outbox, files[0]!)
    assert.equal(statSync(path).mode & 0o777, 0o600)

    const raw = readFileSync(path, 'utf8')
    assert.ok(raw.split('\r\n').length > 10 && !/[^\r]\n/.test(raw), 'lines end with CRLF')
    const parsed = await simpleParser(raw)
    assert.deepEqual(parsed.from?.value, [{ address: 'no-reply@localhost', name: 'Lectern' }])
    assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : null, 'ben@example.com')
    assert.equal(parsed.subject, 'Confirm your email address on 127.0.0.1:8080')
    assert.equal(parsed.date?.toISOString(), '2026-01-15T12:00:00.000Z')
    assert.match(parsed.messageId ?? '', /^<.+@localhost>$/)
    assert.match(raw, /^Content-Type: text\/plain; charset=utf-8\r$/m)
    assert.ok(parsed.text?.includes(`http://127.0.0.1:8080/verify-email/${TOKEN}\n`), parsed.text)

    const [sent] = log.events('email_sent')
    assert.equal(sent!.extra.transport, 'outbox')
    assert.equal(sent!.extra.kind, 'email_verification')
    for (const line of log.lines) {
      assert.ok(!line.includes(TOKEN) && !line.includes('ben@example.com') && !line.includes(files[0]!), line)
    }
    assert.deepEqual(log.schemaProblems(), [])
  })

  test('an outbox folder left readable by others is tightened to 0700 before the next message', async () => {
    const { log, mailer, outbox } = setUp()
    mkdirSync(outbox)
    chmodSync(outbox, 0o755)
    mailer.send({ to: 'ann@example.com', kind: 'password_changed', data: { username: 'ann', changedAt: 0 } })
    await eventually(() => log.events('email_sent').length === 1, 'email_sent')
    await mailer.close()
    assert.equal(statSync(outbox).mode & 0o777, 0o700)
  })

  test('an outbox that cannot be written: retried, then email_failed with the error code', async () => {
    const { log, manual, mailer, outbox } = setUp()
    writeFileSync(outbox, 'not a folder') // where the folder should be
    mailer.send({ to: 'ann@example.com', kind: 'password_changed', data: { username: 'ann', changedAt: 0 } })
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      await manual.waitForTimers(1)
      manual.fireNext()
    }
    await eventually(() => log.events('email_failed').length === 3, 'three failed attempts')
    await mailer.close()
    const last = log.events('email_failed').at(-1)!
    assert.equal(last.extra.reason, 'attempts_exhausted')
    assert.equal(last.extra.transport, 'outbox')
    assert.equal(last.extra.error_code, 'EEXIST')
    assert.equal(log.events('email_sent').length, 0)
  })
})
