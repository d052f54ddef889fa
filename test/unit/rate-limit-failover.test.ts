import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, test } from 'node:test'
import type { Redis } from 'ioredis'
import { RateLimiterRes } from 'rate-limiter-flexible'
import { loadConfig } from '../../src/config/index.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { createMemorySink } from '../../src/logging/sinks.ts'
import {
  FailoverLimiter,
  REDIS_RETRY_INTERVAL_MS,
  RedisAvailability,
  type CounterLimiter,
} from '../../src/security/rate-limit/redis-failover.ts'
import { createRateLimits } from '../../src/security/rate-limit/service.ts'
import { createTestDatabase } from '../support/database.ts'
import { logLineProblem } from '../support/log-schema.ts'

/** A limiter that answers from a script: a result, an over-the-limit result, or a failure. */
function scripted(outcomes: Array<'ok' | 'over' | 'fail'>) {
  const calls: string[] = []
  const next = async (): Promise<RateLimiterRes> => {
    const outcome = outcomes.shift() ?? 'ok'
    calls.push(outcome)
    if (outcome === 'fail') throw new Error('Redis connection is not ready')
    if (outcome === 'over') throw new RateLimiterRes(0, 1000, 6)
    return new RateLimiterRes(4, 1000, 1)
  }
  const limiter: CounterLimiter = {
    consume: next,
    penalty: next,
    get: next,
    delete: async () => true,
    refund: async () => {
      await next()
    },
  }
  return { limiter, calls }
}

function setup(primaryOutcomes: Array<'ok' | 'over' | 'fail'>) {
  const clock = createManualClock()
  const client = new EventEmitter() as unknown as Redis
  const events: string[] = []
  const availability = new RedisAvailability(client, clock, {
    onUnavailable: (error) => events.push(`unavailable: ${error.message}`),
    onRecovered: () => events.push('recovered'),
  })
  const primary = scripted(primaryOutcomes)
  const insurance = scripted([])
  return {
    clock,
    client,
    events,
    primary,
    insurance,
    limiter: new FailoverLimiter(primary.limiter, insurance.limiter, availability),
  }
}

describe('FailoverLimiter: Redis first, the in-memory insurance limiter when Redis fails', () => {
  test('a failed Redis call is answered by memory; one event on the way down, one on the way up', async () => {
    const { limiter, primary, insurance, events, clock } = setup(['ok', 'fail', 'ok'])
    await limiter.consume('k')
    await limiter.consume('k')
    assert.deepEqual(insurance.calls, ['ok'], 'the failed call ran on memory')
    for (let i = 0; i < 5; i += 1) await limiter.consume('k')
    assert.deepEqual(primary.calls, ['ok', 'fail'], 'while down, Redis is not asked on every call')
    assert.deepEqual(events, ['unavailable: Redis connection is not ready'])
    clock.advance(REDIS_RETRY_INTERVAL_MS)
    await limiter.consume('k')
    assert.deepEqual(primary.calls, ['ok', 'fail', 'ok'], 'tried again after the interval')
    assert.deepEqual(events, ['unavailable: Redis connection is not ready', 'recovered'])
  })

  test('a reconnect ("ready") makes the next call try Redis at once', async () => {
    const { limiter, primary, client } = setup(['fail', 'ok'])
    await limiter.consume('k')
    await limiter.consume('k')
    assert.deepEqual(primary.calls, ['fail'])
    ;(client as unknown as EventEmitter).emit('ready')
    await limiter.consume('k')
    assert.deepEqual(primary.calls, ['fail', 'ok'])
  })

  test('"over the limit" is Redis answering, not failing: passed on, never retried on memory', async () => {
    const { limiter, insurance, events } = setup(['over'])
    await assert.rejects(limiter.consume('k'), (res) => res instanceof RateLimiterRes && res.consumedPoints === 6)
    assert.deepEqual(insurance.calls, [])
    assert.deepEqual(events, [])
  })
})

describe('createRateLimits: the store-full warning', () => {
  test('a flood past the memory cap logs rate_limit_store_full once, as a valid log line', async () => {
    const sink = createMemorySink()
    const clock = createManualClock()
    const database = await createTestDatabase()
    try {
      const limits = createRateLimits({
        config: loadConfig({ DATA_DIR: '/nonexistent' }),
        clock,
        logger: createLogger({ level: 'info', sink, clock }),
        database,
        sessionSecret: 'x'.repeat(48),
        maxMemoryEntries: 1_000,
      })
      for (let i = 0; i < 5_000; i += 1) await limits.consume('register', `10.0.${i >> 8}.${i & 255}`)
      const lines = sink.records().filter((line) => line.event === 'rate_limit_store_full')
      assert.equal(lines.length, 1)
      assert.equal(lines[0]!.level, 'WARNING')
      assert.deepEqual(sink.lines.map(logLineProblem).filter(Boolean), [])
      limits.close()
    } finally {
      await database.close()
    }
  })
})
