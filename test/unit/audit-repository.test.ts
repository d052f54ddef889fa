import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import type { DatabaseHandle } from '../../src/db/database.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createAuditRetention } from '../../src/modules/audit/audit-retention.ts'
import { createAuditWriter } from '../../src/modules/audit/audit-writer.ts'
import { COALESCED, createAuditRepository, type NewAuditRow } from '../../src/modules/audit/audit.repository.ts'
import { createTestDatabase } from '../support/database.ts'
import { databaseKinds } from '../support/factories.ts'
import { createManualTimers, createTestLogger } from '../support/mail.ts'

const DAY_MS = 86_400_000
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)

function row(overrides: Partial<NewAuditRow> = {}): NewAuditRow {
  const timestamp = overrides.timestamp ?? NOW
  return {
    timestamp,
    minute: Math.floor(timestamp / 60_000) * 60_000,
    event: 'auth_failure',
    user_id: null,
    remote_addr: '203.0.113.7',
    request_id: 'r1',
    count: 1,
    extra: '{}',
    occurrence: COALESCED,
    ...overrides,
  }
}

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`audit_events on ${kind}`, () => {
    let database: DatabaseHandle
    before(async () => {
      database = await createTestDatabase(kind, postgresUrl)
    })
    after(() => database.close())
    beforeEach(async () => {
      await database.db.deleteFrom('audit_events').execute()
    })

    const repository = () => createAuditRepository(database.db)
    const all = () => database.db.selectFrom('audit_events').selectAll().orderBy('id').execute()

    test('a row already kept for (event, address, minute) adds the count; its first details stay', async () => {
      await repository().write([row({ request_id: 'first', extra: '{"n":1}', count: 3 })])
      await repository().write([
        row({ timestamp: NOW + 30_000, request_id: 'later', extra: '{"n":2}', count: 4 }),
        row({ event: 'logout' }),
      ])
      const rows = await all()
      assert.deepEqual(
        rows.map((r) => [r.event, r.count, r.request_id, r.extra, r.timestamp]),
        [
          ['auth_failure', 7, 'first', '{"n":1}', NOW],
          ['logout', 1, 'r1', '{}', NOW],
        ],
      )
    })

    test('two instances writing the same flood minute share one row: counts add up', async () => {
      const clock = createManualClock(NOW)
      const writers = [0, 1].map(() => {
        const log = createTestLogger(clock)
        const timers = createManualTimers(clock)
        return createAuditWriter({ repository: repository(), clock, logger: log.logger, timers: timers.timers })
      })
      for (let i = 0; i < 300; i++)
        writers[i % 2]!.record({
          event: 'rate_limited',
          userId: null,
          remoteAddr: '198.51.100.9',
          requestId: `r${i}`,
          extra: { policy: 'login' },
        })
      await Promise.all(writers.map((writer) => writer.flush()))
      const rows = await all()
      assert.equal(rows.length, 1)
      assert.equal(rows[0]!.count, 300)
    })

    test('granted actions share no row: rows differing only in occurrence stay apart, across writes too', async () => {
      await repository().write([
        row({ event: 'admin_action', request_id: 'a', extra: '{"n":1}', occurrence: 'x1' }),
        row({ event: 'admin_action', request_id: 'b', extra: '{"n":2}', occurrence: 'x2' }),
      ])
      await repository().write([row({ event: 'admin_action', request_id: 'c', extra: '{"n":3}', occurrence: 'x3' })])
      await repository().write([row({ event: 'admin_action', request_id: 'd', extra: '{"n":4}' })])
      assert.deepEqual(
        (await all()).map((r) => [r.request_id, r.extra, r.count]),
        [
          ['a', '{"n":1}', 1],
          ['b', '{"n":2}', 1],
          ['c', '{"n":3}', 1],
          ['d', '{"n":4}', 1],
        ],
      )
    })

    test('two instances: a denial flood shares one row, every sign-in in the same minute is its own', async () => {
      const clock = createManualClock(NOW)
      const writers = [0, 1].map(() => {
        const log = createTestLogger(clock)
        const timers = createManualTimers(clock)
        return createAuditWriter({ repository: repository(), clock, logger: log.logger, timers: timers.timers })
      })
      for (let i = 0; i < 30; i++) {
        const base = { remoteAddr: '198.51.100.9', requestId: `r${i}` }
        writers[i % 2]!.record({ ...base, event: 'auth_failure', userId: null, extra: { reason: 'bad_password' } })
        writers[i % 2]!.record({ ...base, event: 'auth_success', userId: i + 1, extra: { username: `u${i}` } })
      }
      await Promise.all(writers.map((writer) => writer.flush()))
      const rows = await all()
      const failures = rows.filter((r) => r.event === 'auth_failure')
      const successes = rows.filter((r) => r.event === 'auth_success')
      assert.deepEqual(
        failures.map((r) => [r.count, r.occurrence]),
        [[30, COALESCED]],
      )
      assert.equal(successes.length, 30)
      assert.ok(successes.every((r) => r.count === 1))
      assert.deepEqual(
        successes.map((r) => r.user_id).sort((a, b) => a! - b!),
        Array.from({ length: 30 }, (_, i) => i + 1),
      )
    })

    test('the username is copied when written, so a deleted account still reads; unknown ids have none', async () => {
      const { id } = await database.db
        .insertInto('users')
        .values({
          username: 'Ada',
          username_lower: 'ada',
          email: 'ada@example.org',
          email_lower: 'ada@example.org',
          password_hash: 'x',
          display_name: '',
          bio: '',
          role: 'learner',
          disabled: 0,
          created_at: NOW,
          updated_at: NOW,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await repository().write([
        row({ user_id: id }),
        row({ event: 'logout', user_id: id + 1000 }),
        row({ event: 'csrf_violation' }),
      ])
      await database.db.deleteFrom('users').where('id', '=', id).execute()
      const rows = await all()
      assert.deepEqual(
        rows.map((r) => [r.user_id, r.username]),
        [
          [id, 'Ada'],
          [id + 1000, null],
          [null, null],
        ],
      )
    })

    test(`retention: rows older than AUDIT_RETENTION_DAYS go, in chunks; the one at the cut-off stays`, async () => {
      const retentionDays = 90
      const cutoff = NOW - retentionDays * DAY_MS
      const old = Array.from({ length: 23 }, (_, i) =>
        row({ timestamp: cutoff - 1 - i * 60_000, remote_addr: `10.0.0.${i}` }),
      )
      await repository().write([...old, row({ timestamp: cutoff, remote_addr: 'edge' }), row({ remote_addr: 'new' })])
      const clock = createManualClock(NOW)
      const log = createTestLogger(clock)
      const deletes: number[] = []
      const real = repository()
      const retention = createAuditRetention({
        repository: {
          async deleteOlderThan(cutoffMs, maxRows) {
            const n = await real.deleteOlderThan(cutoffMs, maxRows)
            deletes.push(n)
            return n
          },
        },
        clock,
        logger: log.logger,
        retentionDays,
        chunkRows: 5,
      })
      assert.equal(await retention.prune(), 23)
      assert.deepEqual(deletes, [5, 5, 5, 5, 3])
      assert.deepEqual(
        (await all()).map((r) => r.remote_addr),
        ['edge', 'new'],
      )
      clock.advance(1)
      assert.equal(await retention.prune(), 1, 'a millisecond later the edge row is past it')
    })

    test('retention runs on its timers: first after a delay, then every interval; a failure is logged and retried', async () => {
      const clock = createManualClock(NOW)
      const log = createTestLogger(clock)
      const timers = createManualTimers(clock)
      let calls = 0
      const retention = createAuditRetention({
        repository: {
          async deleteOlderThan() {
            calls++
            if (calls === 1) throw new Error('connection terminated')
            return 0
          },
        },
        clock,
        logger: log.logger,
        retentionDays: 1,
        timers: timers.timers,
      })
      retention.start()
      assert.deepEqual(timers.delays, [60_000])
      timers.fireNext()
      await timers.waitForTimers(1)
      assert.equal(log.events('database_unavailable')[0]?.extra.during, 'audit trail prune')
      assert.deepEqual(timers.delays, [60_000, 3_600_000])
      timers.fireNext()
      await timers.waitForTimers(1)
      assert.equal(calls, 2)
      await retention.stop()
      assert.equal(timers.pending(), 0)
      assert.deepEqual(log.schemaProblems(), [])
    })
  })
}
