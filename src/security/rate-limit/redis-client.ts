import { Redis, type RedisOptions } from 'ioredis'

/** A Redis that does not answer within this is treated as gone: a request never waits longer on it. */
export const REDIS_TIMEOUT_MS = 500
const RECONNECT_BACKOFF_STEP_MS = 200
const RECONNECT_BACKOFF_MAX_MS = 2_000

/**
 * The ioredis client for shared rate-limit counters, set to fail fast: no offline queue (a
 * command while disconnected fails at once instead of waiting for a reconnect), connect and
 * command timeouts of half a second, one retry per command, and reconnection forever in the
 * background with a short back-off, so the limiter falls back to memory immediately and goes
 * back to Redis as soon as it answers again.
 */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: REDIS_TIMEOUT_MS,
    commandTimeout: REDIS_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * RECONNECT_BACKOFF_STEP_MS, RECONNECT_BACKOFF_MAX_MS),
    ...overrides,
  })
  // Connection errors are reported by the limiter (one redis_unavailable warning), not here:
  // without a listener, ioredis would print every failed reconnect to stderr.
  client.on('error', () => {})
  return client
}

/** Resolves when Redis answers PING within the command timeout; for /readyz. */
export async function pingRedis(client: Redis): Promise<void> {
  const reply = await client.ping()
  if (reply !== 'PONG') throw new Error(`unexpected PING reply: ${reply}`)
}

/** Closes the connection: QUIT when Redis answers, else just drop it (a dead Redis must not hold up shutdown). */
export async function closeRedisClient(client: Redis): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}
