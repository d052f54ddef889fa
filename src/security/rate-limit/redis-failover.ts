import type { Redis } from 'ioredis'
import { RateLimiterRes } from 'rate-limiter-flexible'
import type { Clock } from '../../lib/clock.ts'

/** The operations the policies use, common to rate-limiter-flexible's limiters. */
export interface CounterLimiter {
  /** Resolves when within the limit; rejects with a RateLimiterRes when over it. */
  consume(key: string, points?: number): Promise<RateLimiterRes>
  get(key: string): Promise<RateLimiterRes | null>
  penalty(key: string, points?: number): Promise<RateLimiterRes>
  delete(key: string): Promise<boolean>
  /** Gives back one attempt counted in a window that is still open; nothing once it has ended. */
  refund(key: string): Promise<void>
}

/** While Redis is down, one call in this interval tries it again (unless it reconnects sooner). */
export const REDIS_RETRY_INTERVAL_MS = 1_000

/**
 * Whether the shared counters in Redis can be used, shared by every policy of an instance.
 * Switches to "down" on the first failed Redis call (one `onUnavailable`, not one per request)
 * and back on the first successful one (`onRecovered`). While down, Redis is tried again at
 * most once a second, and at once when the client reports it has reconnected: a Redis that
 * hangs instead of refusing costs one command timeout per second, not one per request.
 */
export class RedisAvailability {
  private down = false
  private retryAtMs = 0
  private readonly onReady = () => {
    this.retryAtMs = 0
  }

  private readonly client: Redis
  private readonly clock: Clock
  private readonly events: { onUnavailable(error: Error): void; onRecovered(): void }

  constructor(client: Redis, clock: Clock, events: { onUnavailable(error: Error): void; onRecovered(): void }) {
    this.client = client
    this.clock = clock
    this.events = events
    client.on('ready', this.onReady)
  }

  get isDown(): boolean {
    return this.down
  }

  shouldTry(): boolean {
    return !this.down || this.clock.now() >= this.retryAtMs
  }

  failed(error: Error) {
    this.retryAtMs = this.clock.now() + REDIS_RETRY_INTERVAL_MS
    if (this.down) return
    this.down = true
    this.events.onUnavailable(error)
  }

  succeeded() {
    if (!this.down) return
    this.down = false
    this.events.onRecovered()
  }

  dispose() {
    this.client.off('ready', this.onReady)
  }
}

/**
 * A RateLimiterRedis with an in-memory insurance limiter: when Redis fails (refused, timed out,
 * not connected) the same operation runs on the memory limiter, so each instance keeps
 * limiting on its own, answers no 500, and goes back to Redis once it answers. This is
 * rate-limiter-flexible's `insuranceLimiter` arrangement, done over the two limiters' public
 * API so that the switch is observable (see RedisAvailability and docs/adr/0010).
 */
export class FailoverLimiter implements CounterLimiter {
  readonly primary: CounterLimiter
  readonly insurance: CounterLimiter
  private readonly availability: RedisAvailability

  constructor(primary: CounterLimiter, insurance: CounterLimiter, availability: RedisAvailability) {
    this.primary = primary
    this.insurance = insurance
    this.availability = availability
  }

  consume(key: string, points = 1) {
    return this.run((limiter) => limiter.consume(key, points))
  }

  get(key: string) {
    return this.run((limiter) => limiter.get(key))
  }

  penalty(key: string, points = 1) {
    return this.run((limiter) => limiter.penalty(key, points))
  }

  delete(key: string) {
    return this.run((limiter) => limiter.delete(key))
  }

  refund(key: string) {
    return this.run((limiter) => limiter.refund(key))
  }

  private async run<T>(operation: (limiter: CounterLimiter) => Promise<T>): Promise<T> {
    if (!this.availability.shouldTry()) return operation(this.insurance)
    try {
      const result = await operation(this.primary)
      this.availability.succeeded()
      return result
    } catch (error) {
      // Over the limit is an answer from Redis, not a failure of it.
      if (error instanceof RateLimiterRes) {
        this.availability.succeeded()
        throw error
      }
      this.availability.failed(error instanceof Error ? error : new Error(String(error)))
      return operation(this.insurance)
    }
  }
}
