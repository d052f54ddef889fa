import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DatabaseHandle } from '../../src/db/database.ts'
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts'
import { BLOCK_RECHECK_INTERVAL_MS } from '../../src/security/rate-limit/block-list.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createTestDatabase, type TestDatabaseKind } from '../support/database.ts'
import { testDatabaseUrl } from '../support/services.ts'

const CLIENT = '203.0.113.7'
const KEY = `login:ip:${CLIENT}`

/**
 * Without Redis each instance counts in its own memory; the blocks they record are listed in
 * the database they share, and an operator's clear reaches every one of them.
 */
function blockListSuite(kind: TestDatabaseKind, postgresUrl?: string) {
  describe(`in-memory counters, blocks in the ${kind} database, two instances`, () => {
    let database: DatabaseHandle
    let clock: ManualClock
    let one: TestApp
    let two: TestApp

    before(async () => {
      database = await createTestDatabase(kind, postgresUrl)
      clock = createManualClock()
      const options = { env: { RATE_LIMIT_LOGIN: '2/15m' }, clock, deps: { database } }
      one = await buildTestApp(options)
      two = await buildTestApp(options)
    })
    after(async () => {
      await one.close()
      await two.close()
      await database.close()
    })

    const attempts = async (t: TestApp, times: number) => {
      const allowed: boolean[] = []
      for (let i = 0; i < times; i += 1) allowed.push((await t.app.rateLimits.consume('login', CLIENT)).allowed)
      return allowed
    }

    test('each instance enforces its own count; the block is listed once, by either', async () => {
      assert.deepEqual(await attempts(one, 3), [true, true, false])
      assert.deepEqual(await attempts(two, 3), [true, true, false])
      for (const t of [one, two]) {
        assert.deepEqual(await t.app.rateLimits.blocks.list(), [
          { key: KEY, policy: 'login', key_kind: 'ip', resets_in_seconds: 900 },
        ])
      }
    })

    test('a clear on one instance lifts it there at once, and on the other at its next refused attempt', async () => {
      assert.equal(await one.app.rateLimits.blocks.clear(KEY), true)
      assert.deepEqual(await one.app.rateLimits.blocks.list(), [])
      assert.deepEqual(await attempts(one, 1), [true])
      clock.advance(BLOCK_RECHECK_INTERVAL_MS)
      assert.deepEqual(await attempts(two, 3), [true, true, false], 'a fresh count on the other instance too')
      assert.equal((await two.app.rateLimits.blocks.list()).length, 1, 'and its new block is listed')
    })

    test('a block recorded again after a clear still tells the other instance that it was cleared', async () => {
      // two is blocked (its block recorded). The operator clears everything through one, and one
      // blocks the client again before two looks: the row is back, but it is not two's block.
      assert.equal(await one.app.rateLimits.blocks.clearAll(), 1)
      assert.deepEqual(await attempts(one, 3), [true, true, false])
      clock.advance(BLOCK_RECHECK_INTERVAL_MS)
      assert.deepEqual(await attempts(two, 1), [true])
    })

    test('blocks expire with their window, and so do their rows', async () => {
      clock.advance(15 * 60_000)
      assert.deepEqual(await one.app.rateLimits.blocks.list(), [])
      assert.deepEqual(await attempts(one, 3), [true, true, false])
      const rows = await database.db.selectFrom('rate_limit_blocks').select('key').execute()
      assert.deepEqual(rows, [{ key: KEY }], 'the expired row made way for the new one')
    })
  })
}

blockListSuite('sqlite')
const postgresUrl = testDatabaseUrl()
if (postgresUrl) blockListSuite('postgres', postgresUrl)
