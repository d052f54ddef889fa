import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createManualClock } from '../../src/lib/clock.ts'
import { SECURITY_EVENT_LEVEL, SECURITY_EVENTS } from '../../src/logging/events.ts'
import {
  auditUserOf,
  coalesces,
  createAuditWriter,
  MAX_EXTRA_JSON_CHARS,
  type AuditEntry,
} from '../../src/modules/audit/audit-writer.ts'
import { COALESCED, type NewAuditRow } from '../../src/modules/audit/audit.repository.ts'
import { createManualTimers, createTestLogger, eventually } from '../support/mail.ts'

const MINUTE_MS = 60_000

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    event: 'auth_failure',
    userId: null,
    remoteAddr: '203.0.113.7',
    requestId: 'req-1',
    extra: { reason: 'unknown_user' },
    ...overrides,
  }
}

/** A repository that keeps what it is given, or fails, or never answers, as the test says. */
function fakeRepository(mode: { current: 'ok' | 'fail' | 'stall' } = { current: 'ok' }) {
  const batches: NewAuditRow[][] = []
  let stalled = 0
  return {
    batches,
    mode,
    stalled: () => stalled,
    rows: () => batches.flat(),
    async write(rows: readonly NewAuditRow[]) {
      if (mode.current === 'fail') throw new Error('SQLITE_BUSY: database is locked')
      if (mode.current === 'stall') {
        stalled++
        return new Promise<void>(() => {})
      }
      batches.push(rows.map((row) => ({ ...row })))
    },
  }
}

function setup(options: { maxPendingRows?: number; batchRows?: number } = {}) {
  const clock = createManualClock(Date.UTC(2026, 0, 15, 12, 0, 10))
  const log = createTestLogger(clock)
  const timers = createManualTimers(clock)
  const repository = fakeRepository()
  const writer = createAuditWriter({
    repository,
    clock,
    logger: log.logger,
    timers: timers.timers,
    closeTimeoutMs: 5000,
    ...options,
  })
  return { clock, log, timers, repository, writer }
}

describe('audit writer: batches off the request path', () => {
  test('record() writes nothing by itself; flush() writes the buffer as one batch', async () => {
    const { writer, repository } = setup()
    writer.record(entry())
    writer.record(entry({ event: 'logout', userId: 4 }))
    assert.equal(repository.batches.length, 0)
    assert.equal(writer.pendingRows(), 2)
    await writer.flush()
    assert.equal(repository.batches.length, 1)
    assert.deepEqual(
      repository.rows().map((row) => [row.event, row.user_id, row.count]),
      [
        ['auth_failure', null, 1],
        ['logout', 4, 1],
      ],
    )
    assert.equal(writer.pendingRows(), 0)
  })

  test('the periodic write runs on its timer, every flushIntervalMs, once started', async () => {
    const { writer, repository, timers } = setup()
    writer.start()
    assert.equal(timers.pending(), 1)
    assert.deepEqual(timers.delays, [1000])
    writer.record(entry())
    timers.fireNext()
    await eventually(() => repository.batches.length === 1, 'the timed write')
    assert.equal(timers.pending(), 1, 'the timer is armed again')
    await writer.close()
  })

  test('a full batch (batchRows distinct rows) is written without waiting for the timer', async () => {
    const { writer, repository, clock } = setup({ batchRows: 3 })
    for (let i = 0; i < 3; i++) {
      writer.record(entry())
      clock.advance(MINUTE_MS)
    }
    await eventually(() => repository.batches.length === 1, 'the early write')
    assert.equal(repository.batches[0]!.length, 3)
  })

  test('rows keep their timestamp, minute, address, request id and redacted extra', async () => {
    const { writer, repository, clock } = setup()
    writer.record(entry({ requestId: 'r-9', extra: { reason: 'x', password: 'hunter22', nested: { token: 't' } } }))
    await writer.flush()
    const [row] = repository.rows()
    assert.equal(row!.timestamp, clock.now())
    assert.equal(row!.minute, Date.UTC(2026, 0, 15, 12, 0, 0))
    assert.equal(row!.remote_addr, '203.0.113.7')
    assert.equal(row!.request_id, 'r-9')
    assert.deepEqual(JSON.parse(row!.extra), {
      reason: 'x',
      password: '[REDACTED]',
      nested: { token: '[REDACTED]' },
    })
    assert.ok(!row!.extra.includes('hunter22'))
  })

  test(`an extra of ${MAX_EXTRA_JSON_CHARS} characters as JSON is kept; longer is kept as a marker`, async () => {
    const { writer, repository, clock } = setup()
    const fits = { a: 'x'.repeat(MAX_EXTRA_JSON_CHARS - '{"a":""}'.length) }
    assert.equal(JSON.stringify(fits).length, MAX_EXTRA_JSON_CHARS)
    writer.record(entry({ extra: fits }))
    clock.advance(MINUTE_MS)
    writer.record(entry({ extra: { a: `${fits.a}x` } }))
    await writer.flush()
    const [kept, marked] = repository.rows()
    assert.deepEqual(JSON.parse(kept!.extra), fits)
    assert.deepEqual(JSON.parse(marked!.extra), { truncated: true })
  })
})

describe('audit writer: floods are counted, not copied', () => {
  test('one event from one address within a minute is one row with its count; the first keeps its details', async () => {
    const { writer, repository, clock } = setup()
    writer.record(entry({ requestId: 'first', extra: { n: 1 } }))
    clock.advance(20_000)
    writer.record(entry({ requestId: 'second', extra: { n: 2 } }))
    writer.record(entry({ requestId: 'third', extra: { n: 3 } }))
    await writer.flush()
    const rows = repository.rows()
    assert.equal(rows.length, 1)
    assert.equal(rows[0]!.count, 3)
    assert.equal(rows[0]!.request_id, 'first')
    assert.deepEqual(JSON.parse(rows[0]!.extra), { n: 1 })
  })

  test('another minute, another address or another event is another row', async () => {
    const { writer, repository, clock } = setup()
    writer.record(entry())
    writer.record(entry({ remoteAddr: '198.51.100.1' }))
    writer.record(entry({ event: 'rate_limited' }))
    clock.set(Date.UTC(2026, 0, 15, 12, 0, 59, 999))
    writer.record(entry()) // still 12:00
    clock.set(Date.UTC(2026, 0, 15, 12, 1, 0, 0))
    writer.record(entry()) // 12:01
    await writer.flush()
    assert.deepEqual(
      repository.rows().map((row) => [row.event, row.remote_addr, new Date(row.minute).toISOString(), row.count]),
      [
        ['auth_failure', '203.0.113.7', '2026-01-15T12:00:00.000Z', 2],
        ['auth_failure', '198.51.100.1', '2026-01-15T12:00:00.000Z', 1],
        ['rate_limited', '203.0.113.7', '2026-01-15T12:00:00.000Z', 1],
        ['auth_failure', '203.0.113.7', '2026-01-15T12:01:00.000Z', 1],
      ],
    )
  })

  test('the crowd: 100,000 events from one address in a minute hold one row in memory', async () => {
    const { writer, repository } = setup({ maxPendingRows: 10 })
    for (let i = 0; i < 100_000; i++) writer.record(entry({ requestId: `r${i}` }))
    assert.equal(writer.pendingRows(), 1)
    await writer.flush()
    assert.equal(repository.rows()[0]!.count, 100_000)
  })
})

describe('audit writer: granted actions are kept one row each', () => {
  test('denials (warnings) coalesce; granted actions (info) never do', () => {
    for (const event of SECURITY_EVENTS)
      assert.equal(coalesces(event), SECURITY_EVENT_LEVEL[event] === 'warning', event)
    assert.equal(coalesces('auth_failure'), true)
    assert.equal(coalesces('admin_action'), false)
    assert.equal(coalesces('auth_success'), false)
  })

  test('every event twice from one address in one minute: one row of 2 for a denial, two rows of 1 otherwise', async () => {
    const { writer, repository } = setup()
    for (const event of SECURITY_EVENTS) {
      writer.record(entry({ event, requestId: `${event}-1` }))
      writer.record(entry({ event, requestId: `${event}-2` }))
    }
    await writer.flush()
    for (const event of SECURITY_EVENTS) {
      const rows = repository.rows().filter((row) => row.event === event)
      if (coalesces(event)) {
        assert.deepEqual(
          rows.map((row) => [row.count, row.request_id, row.occurrence]),
          [[2, `${event}-1`, COALESCED]],
          event,
        )
      } else {
        assert.deepEqual(
          rows.map((row) => [row.count, row.request_id]),
          [
            [1, `${event}-1`],
            [1, `${event}-2`],
          ],
          event,
        )
        assert.ok(rows.every((row) => row.occurrence !== COALESCED))
        assert.notEqual(rows[0]!.occurrence, rows[1]!.occurrence)
      }
    }
  })

  test('two admin actions by one admin from one address in one minute keep their own request id, user and extra', async () => {
    const { writer, repository, clock } = setup()
    writer.record(
      entry({ event: 'admin_action', userId: 1, requestId: 'a', extra: { action: 'update_user', target_id: 5 } }),
    )
    clock.advance(10_000)
    writer.record(
      entry({ event: 'admin_action', userId: 1, requestId: 'b', extra: { action: 'delete_user', target_id: 6 } }),
    )
    await writer.flush()
    assert.deepEqual(
      repository.rows().map((row) => [row.request_id, row.user_id, JSON.parse(row.extra), row.count]),
      [
        ['a', 1, { action: 'update_user', target_id: 5 }, 1],
        ['b', 1, { action: 'delete_user', target_id: 6 }, 1],
      ],
    )
  })

  test('one request logging the same action twice is still two rows', async () => {
    const { writer, repository } = setup()
    writer.record(entry({ event: 'admin_action', requestId: 'same', extra: { n: 1 } }))
    writer.record(entry({ event: 'admin_action', requestId: 'same', extra: { n: 2 } }))
    writer.record(entry({ event: 'admin_action', requestId: null, extra: { n: 3 } }))
    await writer.flush()
    assert.deepEqual(
      repository.rows().map((row) => JSON.parse(row.extra)),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    )
  })

  test('granted actions are bounded too: past maxPendingRows they are dropped and counted', async () => {
    const { writer, repository, log } = setup({ maxPendingRows: 30 })
    for (let i = 0; i < 31; i++) writer.record(entry({ event: 'auth_success', userId: i + 1, requestId: `r${i}` }))
    assert.equal(writer.pendingRows(), 30)
    await writer.flush()
    assert.deepEqual(
      repository.rows().map((row) => row.user_id),
      Array.from({ length: 30 }, (_, i) => i + 1),
    )
    assert.deepEqual(log.events('audit_events_dropped')[0]?.extra, {
      reason: 'buffer_full',
      dropped: 1,
      total_dropped: 1,
    })
  })
})

describe('audit writer: bounded when the database is slow or down', () => {
  test('the attacker: distinct rows past maxPendingRows are dropped and counted; a kept row still counts', async () => {
    const { writer, repository, clock, log } = setup({ maxPendingRows: 3 })
    for (let i = 0; i < 5; i++) {
      writer.record(entry())
      clock.advance(MINUTE_MS)
    }
    assert.equal(writer.pendingRows(), 3)
    clock.set(Date.UTC(2026, 0, 15, 12, 0, 30))
    writer.record(entry()) // the first row's key: counted, no new row
    assert.equal(writer.pendingRows(), 3)
    await writer.flush()
    assert.deepEqual(
      repository.rows().map((row) => row.count),
      [2, 1, 1],
    )
    const [warning] = log.events('audit_events_dropped')
    assert.equal(warning?.level, 'WARNING')
    assert.deepEqual(warning?.extra, { reason: 'buffer_full', dropped: 2, total_dropped: 2 })
    assert.deepEqual(log.schemaProblems(), [])
  })

  test('a write that fails drops its batch with one warning saying how many events and why; later writes go on', async () => {
    const { writer, repository, log } = setup()
    repository.mode.current = 'fail'
    writer.record(entry())
    writer.record(entry())
    writer.record(entry({ event: 'logout' }))
    await writer.flush()
    assert.equal(writer.pendingRows(), 0, 'a failed batch is not kept to grow the buffer')
    assert.deepEqual(log.events('audit_events_dropped')[0]?.extra, {
      reason: 'write_failed',
      dropped: 3,
      total_dropped: 3,
      error: 'SQLITE_BUSY: database is locked',
    })
    repository.mode.current = 'ok'
    writer.record(entry({ event: 'logout' }))
    await writer.flush()
    assert.equal(repository.rows().length, 1)
    assert.equal(log.events('audit_events_dropped').length, 1, 'nothing more dropped, nothing more said')
  })

  test('a stalled write: record() still returns at once, the buffer stays bounded, drops are reported on the timer', async () => {
    const { writer, repository, clock, log, timers } = setup({ maxPendingRows: 4 })
    repository.mode.current = 'stall'
    writer.start()
    writer.record(entry())
    timers.fireNext() // the write starts and never ends
    await eventually(() => repository.stalled() === 1, 'the stalled write')
    const started = process.hrtime.bigint()
    for (let i = 0; i < 1000; i++) {
      clock.advance(MINUTE_MS)
      writer.record(entry())
    }
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n)
    assert.equal(writer.pendingRows(), 4)
    timers.fireNext()
    assert.deepEqual(log.events('audit_events_dropped').at(-1)?.extra, {
      reason: 'buffer_full',
      dropped: 996,
      total_dropped: 996,
    })
    // Closing waits at most closeTimeoutMs for the stalled database, then says what was lost.
    const closing = writer.close()
    await timers.waitForTimers(1)
    timers.fireNext()
    await closing
    assert.deepEqual(log.events('audit_events_dropped').at(-1)?.extra, {
      reason: 'shutdown',
      dropped: 5,
      total_dropped: 1001,
    })
    assert.equal(writer.pendingRows(), 0)
  })

  test('close() writes what is left, stops the timer, and an event after it is only counted', async () => {
    const { writer, repository, timers, log } = setup()
    writer.start()
    writer.record(entry())
    await writer.close()
    assert.equal(repository.rows().length, 1)
    assert.equal(timers.pending(), 0)
    writer.record(entry())
    assert.equal(writer.pendingRows(), 0)
    await writer.close() // twice is harmless
    assert.equal(log.events('audit_events_dropped').length, 0)
  })
})

describe('auditUserOf: the account a row is filed under', () => {
  test('the signed-in user; else the attempted or target account; else null', () => {
    assert.equal(auditUserOf({ user_id: 3, extra: { target_user_id: 9 } }), 3)
    assert.equal(auditUserOf({ user_id: null, extra: { attempted_user_id: 7 } }), 7)
    assert.equal(auditUserOf({ user_id: null, extra: { target_user_id: 8 } }), 8)
    assert.equal(auditUserOf({ user_id: null, extra: { target_user_id: null } }), null)
    assert.equal(auditUserOf({ user_id: null, extra: { attempted_user_id: '7' } }), null)
    assert.equal(auditUserOf({ user_id: null, extra: { attempted_user_id: 2 ** 31 } }), null)
    assert.equal(auditUserOf({ user_id: null }), null)
  })
})
