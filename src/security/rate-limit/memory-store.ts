import { createRequire } from 'node:module'
import { LRUCache } from 'lru-cache'
import { RateLimiterRes, type RateLimiterStoreAbstract as StoreAbstractType } from 'rate-limiter-flexible'
import type { Clock } from '../../lib/clock.ts'

/**
 * Hard cap on counters held in memory, all policies together. One counter is a key of ~40
 * bytes and a small integer, so the cap bounds the store at a few megabytes however many
 * distinct clients arrive (measured in bench/ratelimit, recorded in docs/benchmarks.md).
 */
export const DEFAULT_MAX_ENTRIES = 50_000

/** How often expired counters are swept while the store is full (they go before live ones). */
const PURGE_WHEN_FULL_INTERVAL_MS = 1_000
/** How often they are swept otherwise: a quiet store does not hold yesterday's clients forever. */
const PURGE_INTERVAL_MS = 60_000

/** A counter's consumed points and the milliseconds left in its window: what RateLimiterRedis's script returns too. */
type CounterState = [consumed: number, msLeft: number]

/**
 * Fixed-window counters in a bounded LRU map, on the injected clock. Expired counters are
 * removed first; when the map is still full, the least recently used counter is evicted and
 * `onFull` is called once (the operator's warning that a flood is under way).
 */
export class MemoryCounterStore {
  readonly maxEntries: number
  private readonly counters: LRUCache<string, number>
  private readonly clock: Clock
  private lastPurgeMs: number
  private reportedFull = false

  constructor(opts: { clock: Clock; maxEntries?: number; onFull: () => void }) {
    this.clock = opts.clock
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES
    this.lastPurgeMs = opts.clock.now()
    this.counters = new LRUCache<string, number>({
      max: this.maxEntries,
      // Time is the injected clock, read afresh on every call: lru-cache's default caches
      // "now" for a millisecond with a timer, which a manual clock must not see through.
      perf: { now: () => opts.clock.now() },
      ttlResolution: 0,
      dispose: (_value, _key, reason) => {
        if (reason !== 'evict' || this.reportedFull) return
        this.reportedFull = true
        opts.onFull()
      },
    })
  }

  get size(): number {
    return this.counters.size
  }

  /** Adds `points` to the counter; starts a new window of `windowMs` when there is none (or `restart`). */
  increment(key: string, points: number, windowMs: number, restart = false): CounterState {
    const current = restart ? null : this.read(key)
    if (current === null) {
      this.purgeExpiredIfDue()
      this.counters.set(key, points, { ttl: windowMs })
      return [points, windowMs]
    }
    // The window keeps its end: a fixed window, never extended by further attempts.
    this.counters.set(key, current[0] + points, { noUpdateTTL: true })
    return [current[0] + points, current[1]]
  }

  /**
   * Gives back one reserved attempt of a live counter; a window that has ended meanwhile stays
   * ended (a refund must never open the next window with a credit).
   */
  decrement(key: string): void {
    const current = this.read(key)
    if (current === null || current[0] <= 0) return
    this.counters.set(key, current[0] - 1, { noUpdateTTL: true })
  }

  /** The live counter, or null. A window is over at its last millisecond, as a Redis key expires. */
  read(key: string): CounterState | null {
    const consumed = this.counters.get(key)
    if (consumed === undefined) return null
    const msLeft = this.counters.getRemainingTTL(key)
    return msLeft > 0 ? [consumed, msLeft] : null
  }

  delete(key: string): boolean {
    return this.counters.delete(key)
  }

  /** Live counters whose key starts with `prefix`, most recently used first. */
  *entries(prefix = ''): Generator<{ key: string; consumed: number; msLeft: number }> {
    for (const [key, consumed] of this.counters.entries()) {
      const msLeft = this.counters.getRemainingTTL(key)
      if (key.startsWith(prefix) && msLeft > 0) yield { key, consumed, msLeft }
    }
  }

  clear(prefix = ''): number {
    const keys = [...this.counters.keys()].filter((key) => key.startsWith(prefix))
    for (const key of keys) this.counters.delete(key)
    return keys.length
  }

  /** Sweeps expired counters: at most once a second while full (it is O(entries)), else once a minute. */
  private purgeExpiredIfDue() {
    const nowMs = this.clock.now()
    const interval = this.counters.size >= this.maxEntries ? PURGE_WHEN_FULL_INTERVAL_MS : PURGE_INTERVAL_MS
    if (nowMs - this.lastPurgeMs < interval) return
    this.lastPurgeMs = nowMs
    this.counters.purgeStale()
  }
}

// rate-limiter-flexible declares RateLimiterStoreAbstract in its types but does not export it
// from its entry point; it is the base its own stores (Redis included) are built on.
const RateLimiterStoreAbstract = createRequire(import.meta.url)(
  'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js',
) as typeof StoreAbstractType

type StoreOptions = ConstructorParameters<typeof StoreAbstractType>[0]

/**
 * rate-limiter-flexible over the bounded in-memory counters: the library's own consume / get /
 * penalty / delete logic (the same that runs over Redis), with this store underneath instead
 * of its RateLimiterMemory, which keeps every key (and a timer per key) until it expires.
 */
export class MemoryRateLimiter extends RateLimiterStoreAbstract {
  private readonly store: MemoryCounterStore

  constructor(opts: Omit<StoreOptions, 'storeClient'> & { storeClient: MemoryCounterStore }) {
    super(opts)
    this.store = opts.storeClient
  }

  /** See MemoryCounterStore.decrement; the library's `reward` would open a window with a credit. */
  refund(key: string): Promise<void> {
    this.store.decrement(this.getKey(key))
    return Promise.resolve()
  }

  // The four methods below are the store interface RateLimiterStoreAbstract calls.

  _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<CounterState> {
    return Promise.resolve(this.store.increment(rlKey, points, msDuration, forceExpire))
  }

  _get(rlKey: string): Promise<CounterState | null> {
    return Promise.resolve(this.store.read(rlKey))
  }

  _delete(rlKey: string): Promise<boolean> {
    return Promise.resolve(this.store.delete(rlKey))
  }

  _getRateLimiterRes(_rlKey: string, changedPoints: number, [consumed, msLeft]: CounterState): RateLimiterRes {
    return new RateLimiterRes(Math.max(this.points - consumed, 0), msLeft, consumed, consumed === changedPoints)
  }
}
