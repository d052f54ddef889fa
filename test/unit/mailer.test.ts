import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createMailer, type MailMessage } from '../../src/mail/index.ts'
import { siteFrom } from '../../src/mail/templates.ts'
import type { MailTransport, OutgoingMail } from '../../src/mail/transports.ts'
import { createManualTimers, createTestLogger, eventually } from '../support/mail.ts'

/** A transport whose deliveries wait until the test settles them: the queue's behaviour alone. */
function heldTransport() {
  const held: Array<{ mail: OutgoingMail; accept: () => void }> = []
  let closed = false
  const transport: MailTransport = {
    name: 'outbox',
    deliver: (mail) =>
      new Promise((resolve) => held.push({ mail, accept: () => resolve({ messageId: `<${held.length}@test>` }) })),
    close: () => {
      closed = true
    },
  }
  return { transport, held, isClosed: () => closed }
}

const notice = (n: number): MailMessage => ({
  to: `user${n}@example.org`,
  kind: 'password_changed',
  data: { username: `user${n}`, changedAt: 0 },
})

function setUp(options: { maxQueued?: number; maxInFlight?: number } = {}) {
  const log = createTestLogger()
  const manual = createManualTimers(log.clock)
  const held = heldTransport()
  const mailer = createMailer({
    transport: held.transport,
    site: siteFrom('https://learn.example.org'),
    logger: log.logger,
    clock: log.clock,
    timers: manual.timers,
    ...options,
  })
  return { log, manual, held, mailer }
}

describe('the mail queue', () => {
  test('send() returns before the transport is called', async () => {
    const { held, mailer } = setUp()
    mailer.send(notice(1))
    assert.equal(held.held.length, 0)
    await eventually(() => held.held.length === 1, 'the delivery')
  })

  test('beyond its bound a message is dropped, with email_failed (queue_full), and the rest still go', async () => {
    const { log, held, mailer } = setUp({ maxQueued: 3, maxInFlight: 1 })
    for (let n = 1; n <= 5; n += 1) mailer.send(notice(n))
    const dropped = log.events('email_failed')
    assert.equal(dropped.length, 2)
    assert.ok(dropped.every((line) => line.extra.reason === 'queue_full' && line.level === 'ERROR'))
    assert.deepEqual(
      dropped.map((line) => line.extra.kind),
      ['password_changed', 'password_changed'],
    )
    for (let n = 1; n <= 3; n += 1) {
      await eventually(() => held.held.length === n, `delivery ${n}`)
      held.held[n - 1]!.accept()
    }
    await eventually(() => log.events('email_sent').length === 3, 'three sent')
    assert.deepEqual(
      held.held.map((entry) => entry.mail.to),
      ['user1@example.org', 'user2@example.org', 'user3@example.org'],
    )
  })

  test('close() waits for the queued messages, then closes the transport; later sends are refused', async () => {
    const { log, held, mailer } = setUp({ maxInFlight: 1 })
    mailer.send(notice(1))
    mailer.send(notice(2))
    let closed = false
    const closing = mailer.close().then(() => (closed = true))
    for (let n = 1; n <= 2; n += 1) {
      await eventually(() => held.held.length === n, `delivery ${n}`)
      assert.equal(closed, false)
      held.held[n - 1]!.accept()
    }
    await closing
    assert.equal(log.events('email_sent').length, 2)
    assert.ok(held.isClosed())
    mailer.send(notice(3))
    assert.equal(log.events('email_failed').at(-1)!.extra.reason, 'closed')
  })

  test('close() gives up after its bound: what is still queued is logged as failed (shutdown)', async () => {
    const { log, manual, held, mailer } = setUp({ maxInFlight: 1 })
    mailer.send(notice(1))
    mailer.send(notice(2))
    await eventually(() => held.held.length === 1, 'the first delivery')
    const closing = mailer.close()
    await manual.waitForTimers(1)
    manual.fireNext()
    await closing
    const failed = log.events('email_failed')
    assert.equal(failed.length, 1)
    assert.equal(failed[0]!.extra.reason, 'shutdown')
    assert.ok(held.isClosed())
  })
})
