import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RateLimiterRes } from 'rate-limiter-flexible'
import { createManualClock } from '../../src/lib/clock.ts'
import { MemoryCounterStore, MemoryRateLimiter } from '../../src/security/rate-limit/memory-store.ts'

const WINDOW_MS = 15 * 60_000

function setup(opts: { maxEntries?: number; points?: number } = {}) {
  const clock = createManualClock()
  const fullWarnings: number[] = []
  const store = new MemoryCounterStore({
    clock,
    maxEntries: opts.maxEntries,
    onFull: () => fullWarnings.push(clock.now()),
  })
  const limiter = new MemoryRateLimiter({
    storeClient: store,
    keyPrefix: 'login',
    points: opts.points ?? 5,
    duration: WINDOW_MS / 1000,
  })
  return { clock, store, limiter, fullWarnings }
}

/** consume() resolves within the limit and rejects with a RateLimiterRes beyond it. */
async function attempt(limiter: MemoryRateLimiter, key: string): Promise<{ ok: boolean; res: RateLimiterRes }> {
  try {
    return { ok: true, res: await limiter.consume(key) }
  } catch (res) {
    assert.ok(res instanceof RateLimiterRes, `unexpected rejection: ${String(res)}`)
    return { ok: false, res }
  }
}

describe('MemoryRateLimiter over the bounded in-memory store', () => {
  test('the first 5 attempts pass, the 6th is refused, with the right counts and reset', async () => {
    const { limiter, clock } = setup()
    for (let i = 1; i <= 5; i += 1) {
      const { ok, res } = await attempt(limiter, 'ip:203.0.113.7')
      assert.equal(ok, true, `attempt ${i}`)
      assert.equal(res.consumedPoints, i)
      assert.equal(res.remainingPoints, 5 - i)
      assert.equal(res.msBeforeNext, WINDOW_MS)
    }
    clock.advance(60_000)
    const sixth = await attempt(limiter, 'ip:203.0.113.7')
    assert.equal(sixth.ok, false)
    assert.equal(sixth.res.remainingPoints, 0)
    assert.equal(sixth.res.msBeforeNext, WINDOW_MS - 60_000)
    assert.equal((await attempt(limiter, 'ip:203.0.113.8')).ok, true, 'another key has its own count')
  })

  test('the window is fixed: refused attempts never extend it, and it ends at its last millisecond', async () => {
    const { limiter, clock } = setup({ points: 2 })
    await attempt(limiter, 'k')
    await attempt(limiter, 'k')
    clock.advance(WINDOW_MS - 1)
    const late = await attempt(limiter, 'k')
    assert.equal(late.ok, false, 'one millisecond before the end, still refused')
    assert.equal(late.res.msBeforeNext, 1)
    clock.advance(1)
    const fresh = await attempt(limiter, 'k')
    assert.equal(fresh.ok, true, 'at the end of the window the count starts again')
    assert.equal(fresh.res.consumedPoints, 1)
    assert.equal(fresh.res.msBeforeNext, WINDOW_MS)
  })

  test('get, penalty and delete work on the same counters', async () => {
    const { limiter } = setup()
    assert.equal(await limiter.get('u'), null)
    await limiter.penalty('u', 1)
    await limiter.penalty('u', 1)
    assert.equal((await limiter.get('u'))?.consumedPoints, 2)
    assert.equal(await limiter.delete('u'), true)
    assert.equal(await limiter.get('u'), null)
    assert.equal(await limiter.delete('u'), false)
  })

  test('50 concurrent attempts against a limit of 20: exactly 20 pass', async () => {
    const { limiter } = setup({ points: 20 })
    const results = await Promise.all(Array.from({ length: 50 }, () => attempt(limiter, 'burst')))
    assert.equal(results.filter((r) => r.ok).length, 20)
    assert.deepEqual(
      results
        .filter((r) => r.ok)
        .map((r) => r.res.consumedPoints)
        .sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
      'every allowed attempt saw its own count: no two shared one',
    )
  })
})

describe('MemoryCounterStore stays bounded', () => {
  test('expired counters are cleaned up before live ones are evicted, and no warning is needed', async () => {
    const { store, clock, fullWarnings } = setup({ maxEntries: 100 })
    for (let i = 0; i < 100; i += 1) store.increment(`old:${i}`, 1, 1_000)
    assert.equal(store.size, 100)
    clock.advance(2_000) // every old counter has expired
    for (let i = 0; i < 10; i += 1) store.increment(`new:${i}`, 1, WINDOW_MS)
    assert.equal(store.size, 10, 'the expired counters went first')
    assert.deepEqual(fullWarnings, [])
    assert.equal(store.read('old:0'), null)
  })

  test('a quiet store sweeps expired counters too (once a minute)', () => {
    const { store, clock } = setup({ maxEntries: 1000 })
    for (let i = 0; i < 50; i += 1) store.increment(`old:${i}`, 1, 1_000)
    clock.advance(61_000)
    store.increment('one-more', 1, WINDOW_MS)
    assert.equal(store.size, 1)
  })

  test('when full of live counters, the least recently used is evicted and one warning is logged', async () => {
    const { store, fullWarnings } = setup({ maxEntries: 100 })
    for (let i = 0; i < 100; i += 1) store.increment(`k:${i}`, 1, WINDOW_MS)
    store.increment('k:0', 1, WINDOW_MS) // k:0 is now the most recently used; k:1 the least
    for (let i = 100; i < 1_000; i += 1) store.increment(`k:${i}`, 1, WINDOW_MS)
    assert.equal(store.size, 100)
    assert.equal(store.read('k:1'), null, 'the least recently used went')
    assert.equal(fullWarnings.length, 1, 'one warning, not one per eviction')
  })

  test('a flood of distinct clients, 25 times the cap, leaves at most the cap in memory', async () => {
    // The full-size figure (a million keys against the default cap) is measured in bench/ratelimit.
    const { store, limiter, fullWarnings } = setup({ maxEntries: 2_000 })
    for (let i = 0; i < 50_000; i += 1) await limiter.consume(`ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
    assert.equal(store.size, 2_000)
    assert.equal(fullWarnings.length, 1)
  })
})
