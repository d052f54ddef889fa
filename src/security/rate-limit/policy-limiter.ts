import { RateLimiterRes } from 'rate-limiter-flexible'
import type { Limit } from '../../config/index.ts'
import type { DatabaseBlockList } from './block-list.ts'
import { counterKey, POLICY_KEY_KIND, secondsFromMs, type PolicyName } from './policies.ts'
import type { CounterLimiter } from './redis-failover.ts'

/** What a policy says about one attempt; also what the RateLimit-* headers report. */
export interface Decision {
  allowed: boolean
  limit: number
  /** Attempts left in the window after this one. */
  remaining: number
  /** Seconds until the window resets: RateLimit-Reset, and Retry-After when refused. */
  resetSeconds: number
  resetMs: number
}

/**
 * One policy (its limit, its limiter) over the values it counts by (`203.0.113.7`, a user id). In-memory
 * deployments also pass the database block list: a block is recorded when a counter reaches its
 * limit, and a refused key whose block an operator cleared is reset (see block-list.ts).
 */
export class PolicyLimiter {
  readonly policy: PolicyName
  readonly limit: Limit
  private readonly limiter: CounterLimiter
  private readonly blockList: DatabaseBlockList | null
  private readonly reportBlockListError: (error: unknown) => void

  constructor(
    policy: PolicyName,
    limit: Limit,
    limiter: CounterLimiter,
    blockList: DatabaseBlockList | null,
    reportBlockListError: (error: unknown) => void,
  ) {
    this.policy = policy
    this.limit = limit
    this.limiter = limiter
    this.blockList = blockList
    this.reportBlockListError = reportBlockListError
  }

  /** Counts one attempt (every attempt counts) and says whether it may proceed. */
  async consume(value: string): Promise<Decision> {
    let decision = await this.settle(this.limiter.consume(this.counter(value)))
    if (!decision.allowed && (await this.liftedByOperator(value))) {
      decision = await this.settle(this.limiter.consume(this.counter(value)))
    }
    await this.recordIfLimitReached(value, decision)
    return decision
  }

  /** Gives back one attempt counted by `consume` (a reservation that proved not to be a failure). */
  async refund(value: string): Promise<void> {
    await this.limiter.refund(this.counter(value))
  }

  /** Counts one failure without refusing anything (the failure itself has been processed). */
  async penalize(value: string): Promise<Decision> {
    const decision = this.decide(await this.limiter.penalty(this.counter(value)), 'left')
    await this.recordIfLimitReached(value, decision)
    return decision
  }

  /** Whether one more attempt would be allowed, counting nothing. */
  async peek(value: string): Promise<Decision> {
    let current = await this.limiter.get(this.counter(value))
    if (current !== null && current.remainingPoints === 0 && (await this.liftedByOperator(value))) {
      current = await this.limiter.get(this.counter(value))
    }
    if (current === null) {
      const { points, windowMs } = this.limit
      return {
        allowed: true,
        limit: points,
        remaining: points,
        resetSeconds: secondsFromMs(windowMs),
        resetMs: windowMs,
      }
    }
    return this.decide(current, 'next')
  }

  /** Starts the count afresh (a successful login resets the failures of its username). */
  async reset(value: string): Promise<void> {
    await this.limiter.delete(this.counter(value))
    if (this.blockList?.forget(counterKey(this.policy, value))) {
      await this.blockList.clear(counterKey(this.policy, value)).catch(this.reportBlockListError)
    }
  }

  /** The limiter's key for a value: `ip:203.0.113.7`, which its key prefix (the policy) completes to the counter key. */
  private counter(value: string): string {
    return `${POLICY_KEY_KIND[this.policy]}:${value}`
  }

  /** A consume resolves within the limit and rejects with the same kind of result beyond it. */
  private async settle(attempt: Promise<RateLimiterRes>): Promise<Decision> {
    try {
      return this.decide(await attempt, 'left')
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return this.decide(outcome, 'left')
      throw outcome
    }
  }

  /**
   * `left`: the result of counting an attempt, allowed while the count is within the limit.
   * `next`: a look without counting, allowed while one more attempt would be within it.
   */
  private decide(res: RateLimiterRes, mode: 'left' | 'next'): Decision {
    const { points } = this.limit
    const allowed = mode === 'left' ? res.consumedPoints <= points : res.consumedPoints < points
    return {
      allowed,
      limit: points,
      remaining: Math.max(points - res.consumedPoints, 0),
      resetSeconds: secondsFromMs(res.msBeforeNext),
      resetMs: res.msBeforeNext,
    }
  }

  /** The attempt that reaches the limit records the block (exactly one does, the count being atomic). */
  private async recordIfLimitReached(value: string, decision: Decision) {
    if (!this.blockList || !decision.allowed || decision.remaining !== 0) return
    try {
      await this.blockList.record(counterKey(this.policy, value), this.policy, decision.resetMs)
    } catch (error) {
      this.reportBlockListError(error)
    }
  }

  private async liftedByOperator(value: string): Promise<boolean> {
    if (!this.blockList) return false
    try {
      if (!(await this.blockList.wasCleared(counterKey(this.policy, value)))) return false
    } catch (error) {
      this.reportBlockListError(error) // the block stands: failing closed
      return false
    }
    await this.limiter.delete(this.counter(value))
    return true
  }
}
