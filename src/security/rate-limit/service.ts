import type { FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../../config/index.ts'
import type { DatabaseHandle } from '../../db/database.ts'
import { tooManyRequests, type HttpError } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import { logEvent, type Logger } from '../../logging/logger.ts'
import { DatabaseBlockList, type BlockAdmin, type BlockEntry } from './block-list.ts'
import { MemoryCounterStore, MemoryRateLimiter } from './memory-store.ts'
import {
  counterKey,
  POLICY_KEY_KIND,
  POLICY_NAMES,
  policyLimits,
  policyOfKey,
  type PolicyName,
  type RoutePolicyName,
} from './policies.ts'
import { PolicyLimiter, type Decision } from './policy-limiter.ts'
import { REDIS_KEY_PREFIX, RedisBlocks } from './redis-blocks.ts'
import { RedisCounterLimiter } from './redis-limiter.ts'
import { FailoverLimiter, RedisAvailability, type CounterLimiter } from './redis-failover.ts'
import { createUsernameKeyer } from './username-key.ts'

export interface RateLimitsDeps {
  config: Config
  clock: Clock
  logger: Logger
  database: DatabaseHandle
  sessionSecret: string
  /** Shared counters (REDIS_URL); without it every counter is in this process's memory. */
  redis?: Redis
  /** Cap on in-memory counters (default DEFAULT_MAX_ENTRIES). */
  maxMemoryEntries?: number
  /** Told when this instance gives up Redis for its own memory, and when it takes Redis up again (metrics). */
  storeObserver?: RateLimitStoreObserver
}

export interface RateLimitStoreObserver {
  redisUnavailable(): void
  redisRecovered(): void
}

/** One attempt counted at one policy, to be given back if it proves not to be a failure. */
export interface Reservation {
  readonly policy: PolicyName
  readonly value: string
  decision: Decision
}

/** What `reserve` did: every attempt counted, or none (the refusal, to report, and nothing held). */
export type ReserveResult = { granted: Reservation[]; refused: null } | { granted: []; refused: Reservation }

/**
 * Failed logins per attempted username, from any address (credential stuffing), counted by the
 * sign-in service before it verifies a password (`reserve`), given back when the password
 * proves right for a disabled account (`refund`), and started afresh by a sign-in (`reset`).
 */
export interface LoginUserLimit {
  /** The username's counter value: a keyed hash, so counters and logs never reveal the names tried. */
  key(username: string): string
  reserve(username: string): Promise<Reservation>
  refund(username: string): Promise<void>
  reset(username: string): Promise<void>
  /** Counts one failure without refusing (the command line and tests fill a counter with it). */
  consumeFailure(username: string): Promise<void>
}

export interface RateLimits {
  readonly store: 'memory' | 'redis'
  readonly policies: Readonly<Record<PolicyName, PolicyLimiter>>
  readonly loginUser: LoginUserLimit
  /** Current blocks, for the admin API; `clear` also takes `username:NAME` for a username's block. */
  readonly blocks: BlockAdmin
  /** Counts an attempt at a route's policy by `value`: a client key (`203.0.113.7`), a user id. */
  consume(policy: RoutePolicyName, value: string): Promise<Decision>
  /**
   * Counts one attempt at each policy, atomically per counter, before the work they guard is
   * done (reserve before verify: under any concurrency at most the limit is verified). When one
   * refuses, the attempts already counted for this call are given back.
   */
  reserve(wanted: ReadonlyArray<readonly [PolicyName, string]>): Promise<ReserveResult>
  /** Gives back reservations that proved not to be failures (a right password). */
  refund(reservations: readonly Reservation[]): Promise<void>
  /** Logs the refusal as a rate_limited event and returns the 429 to throw. */
  refuse(req: FastifyRequest, policy: PolicyName, value: string, decision: Decision): HttpError
  close(): void
}

/** `username:NAME` names the failed-login counter of a username; anything else is a counter key. */
export function resolveCounterKey(input: string, usernameKey: (username: string) => string): string {
  return input.startsWith('username:') ? counterKey('login_user', usernameKey(input.slice('username:'.length))) : input
}

/**
 * The rate limits of CONTRACT §5, built once per app from its dependencies: every policy over
 * Redis (with a bounded in-memory insurance limiter) when a client is given, else over the
 * bounded in-memory store alone, with blocks listed in the database for the command line.
 */
export function createRateLimits(deps: RateLimitsDeps): RateLimits {
  const { config, clock, logger, redis } = deps
  const limits = policyLimits(config)
  const memory = new MemoryCounterStore({
    clock,
    maxEntries: deps.maxMemoryEntries,
    onFull: () =>
      logEvent(logger, 'warning', 'rate_limit_store_full', {
        extra: { max_entries: memory.maxEntries, evicting: 'least recently used' },
      }),
  })
  const availability = redis
    ? new RedisAvailability(redis, clock, {
        onUnavailable: (error) => {
          logEvent(logger, 'warning', 'redis_unavailable', {
            extra: { error: error.message, fallback: 'in-memory limits on this instance' },
          })
          deps.storeObserver?.redisUnavailable()
        },
        onRecovered: () => {
          logEvent(logger, 'info', 'redis_recovered', { extra: { store: 'redis' } })
          deps.storeObserver?.redisRecovered()
        },
      })
    : null
  const blockList = redis ? null : new DatabaseBlockList(deps.database.db, clock)
  const reportBlockListError = (error: unknown) =>
    logEvent(logger, 'warning', 'database_unavailable', {
      extra: { during: 'rate-limit block list', error: error instanceof Error ? error.message : String(error) },
    })

  const limiterFor = (policy: PolicyName): CounterLimiter => {
    const { points, windowMs } = limits[policy]
    const duration = windowMs / 1000
    const inMemory = new MemoryRateLimiter({ storeClient: memory, keyPrefix: policy, points, duration })
    if (!redis || !availability) return inMemory
    const shared = new RedisCounterLimiter({
      storeClient: redis,
      keyPrefix: REDIS_KEY_PREFIX + policy,
      points,
      duration,
      rejectIfRedisNotReady: true,
    })
    return new FailoverLimiter(shared, inMemory, availability)
  }
  const policies = Object.fromEntries(
    POLICY_NAMES.map((policy) => [
      policy,
      new PolicyLimiter(policy, limits[policy], limiterFor(policy), blockList, reportBlockListError),
    ]),
  ) as Record<PolicyName, PolicyLimiter>

  const refuse = (req: FastifyRequest, policy: PolicyName, value: string, decision: Decision) => {
    securityEvent(req, 'rate_limited', {
      policy,
      key_kind: POLICY_KEY_KIND[policy],
      key: counterKey(policy, value),
      limit: decision.limit,
      window_seconds: limits[policy].windowMs / 1000,
      retry_after_seconds: decision.resetSeconds,
    })
    // The RateLimit-* headers of the answer speak of the policy that refused.
    req.rateLimitDecision = decision
    req.rateLimitRefusedPolicy = policy
    return tooManyRequests(decision.resetSeconds)
  }

  const refund = async (reservations: readonly Reservation[]) => {
    for (const { policy, value } of reservations) await policies[policy].refund(value)
  }

  const reserve = async (wanted: ReadonlyArray<readonly [PolicyName, string]>): Promise<ReserveResult> => {
    const granted: Reservation[] = []
    for (const [policy, value] of wanted) {
      const decision = await policies[policy].consume(value)
      if (!decision.allowed) {
        // The refused attempt itself stays counted (a blocked client keeps being blocked);
        // the others were never tried, so they are given back.
        await refund(granted)
        return { granted: [], refused: { policy, value, decision } }
      }
      granted.push({ policy, value, decision })
    }
    return { granted, refused: null }
  }

  const usernameKey = createUsernameKeyer(deps.sessionSecret)
  const loginUser: LoginUserLimit = {
    key: usernameKey,
    async reserve(username) {
      const value = usernameKey(username)
      return { policy: 'login_user', value, decision: await policies.login_user.consume(value) }
    },
    async refund(username) {
      await policies.login_user.refund(usernameKey(username))
    },
    async reset(username) {
      await policies.login_user.reset(usernameKey(username))
    },
    async consumeFailure(username) {
      await policies.login_user.penalize(usernameKey(username))
    },
  }

  const stored: BlockAdmin = redis ? new RedisBlocks(redis, limits) : blockList!
  // Clearing also drops this instance's in-memory counter (the store itself, or Redis's insurance).
  const blocks: BlockAdmin = {
    list: () => stored.list(),
    async clear(input) {
      const key = resolveCounterKey(input, usernameKey)
      if (policyOfKey(key) === null) return false
      const inMemory = memory.delete(key)
      return (await stored.clear(key)) || inMemory
    },
    async clearAll() {
      const cleared = await stored.clearAll()
      memory.clear()
      return cleared
    },
  }

  return {
    store: redis ? 'redis' : 'memory',
    policies,
    loginUser,
    blocks,
    consume: (policy, value) => policies[policy].consume(value),
    reserve,
    refund,
    refuse,
    close: () => availability?.dispose(),
  }
}

export type { BlockEntry, Decision }
