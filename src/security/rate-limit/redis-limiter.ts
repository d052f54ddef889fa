import type { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'

type RedisLimiterOptions = ConstructorParameters<typeof RateLimiterRedis>[0]

/**
 * Decrements a counter only while its window is open. rate-limiter-flexible's `reward` is an
 * upsert: after the window ended it would create a new one starting at -1, a free attempt.
 */
const REFUND_SCRIPT = `if redis.call('exists', KEYS[1]) == 1 and tonumber(redis.call('get', KEYS[1])) > 0 then
  return redis.call('decr', KEYS[1])
end
return -1`

/** RateLimiterRedis (an atomic INCR-first consume in one script) with a refund that cannot open a window. */
export class RedisCounterLimiter extends RateLimiterRedis {
  readonly #redis: Redis

  constructor(opts: RedisLimiterOptions & { storeClient: Redis }) {
    super(opts)
    this.#redis = opts.storeClient
  }

  async refund(key: string): Promise<void> {
    // Fails fast like the library's calls (rejectIfRedisNotReady), so the failover can take over.
    if (this.#redis.status !== 'ready') throw new Error(`Redis is not ready (${this.#redis.status})`)
    await this.#redis.eval(REFUND_SCRIPT, 1, this.getKey(key))
  }
}
