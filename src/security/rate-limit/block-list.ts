import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { Database } from '../../db/schema.ts'
import type { Clock } from '../../lib/clock.ts'
import { DEFAULT_MAX_ENTRIES } from './memory-store.ts'
import { POLICY_KEY_KIND, secondsFromMs, type KeyKind, type PolicyName } from './policies.ts'

/** A current block, as `lectern rate-limits list` and `GET /api/admin/rate-limits` show it. */
export interface BlockEntry {
  key: string
  policy: PolicyName
  key_kind: KeyKind
  resets_in_seconds: number
}

/** Seeing blocks and lifting them: over Redis, or over the database for the in-memory store. */
export interface BlockAdmin {
  list(): Promise<BlockEntry[]>
  /** True when there was something to clear. */
  clear(key: string): Promise<boolean>
  /** How many blocks were cleared. */
  clearAll(): Promise<number>
}

/** A refused client re-reads its block at most this often: a flood of refusals is not a flood of queries. */
export const BLOCK_RECHECK_INTERVAL_MS = 1_000

/**
 * The blocks of the in-memory store, kept in the database (table rate_limit_blocks) so that the
 * command line and every instance sharing the database can see and lift them; the counters
 * themselves stay in each server's memory (docs/adr/0010).
 *
 * The server records a block when a counter reaches its limit and remembers the row's
 * `block_id`. When it refuses that key later, it re-reads the row (at most once a second per
 * key): gone, or replaced by another block, means an operator cleared it, and the server resets
 * its counter. Rows are only ever written by the server and deleted by operators or expiry.
 */
export class DatabaseBlockList implements BlockAdmin {
  /** Block ids this instance recorded, and when it last re-read each; bounded like the counters. */
  private readonly recorded = new LRUCache<string, { blockId: string; checkedAtMs: number }>({
    max: DEFAULT_MAX_ENTRIES,
  })

  private readonly db: Kysely<Database>
  private readonly clock: Clock

  constructor(db: Kysely<Database>, clock: Clock) {
    this.db = db
    this.clock = clock
  }

  /** Records that `key` is blocked for `msLeft` more milliseconds (keeping a live row another instance wrote). */
  async record(key: string, policy: PolicyName, msLeft: number): Promise<void> {
    const nowMs = this.clock.now()
    await this.db.deleteFrom('rate_limit_blocks').where('blocked_until', '<=', nowMs).execute()
    await this.db
      .insertInto('rate_limit_blocks')
      .values({
        key,
        policy,
        key_kind: POLICY_KEY_KIND[policy],
        block_id: randomBytes(12).toString('base64url'),
        blocked_until: nowMs + msLeft,
        created_at: nowMs,
      })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute()
    const row = await this.db
      .selectFrom('rate_limit_blocks')
      .select('block_id')
      .where('key', '=', key)
      .executeTakeFirst()
    if (row) this.recorded.set(key, { blockId: row.block_id, checkedAtMs: -Infinity })
  }

  /**
   * True when the block this instance recorded for `key` has been lifted by an operator. False
   * when it is still there, when this instance recorded none (nothing to compare with: the
   * counter stays as it is), or within a second of the last look.
   */
  async wasCleared(key: string): Promise<boolean> {
    const mine = this.recorded.get(key)
    if (!mine) return false
    const nowMs = this.clock.now()
    if (nowMs - mine.checkedAtMs < BLOCK_RECHECK_INTERVAL_MS) return false
    mine.checkedAtMs = nowMs
    const row = await this.db
      .selectFrom('rate_limit_blocks')
      .select('block_id')
      .where('key', '=', key)
      .executeTakeFirst()
    if (row?.block_id === mine.blockId) return false
    this.recorded.delete(key)
    return true
  }

  /** Forgets a block this instance lifted itself (a successful login); true when it had recorded one. */
  forget(key: string): boolean {
    return this.recorded.delete(key)
  }

  async list(): Promise<BlockEntry[]> {
    const nowMs = this.clock.now()
    const rows = await this.db
      .selectFrom('rate_limit_blocks')
      .select(['key', 'policy', 'key_kind', 'blocked_until'])
      .where('blocked_until', '>', nowMs)
      .orderBy('blocked_until')
      .orderBy('key')
      .execute()
    return rows.map((row) => ({
      key: row.key,
      policy: row.policy as PolicyName,
      key_kind: row.key_kind as KeyKind,
      resets_in_seconds: secondsFromMs(row.blocked_until - nowMs),
    }))
  }

  async clear(key: string): Promise<boolean> {
    this.recorded.delete(key)
    const result = await this.db
      .deleteFrom('rate_limit_blocks')
      .where('key', '=', key)
      .where('blocked_until', '>', this.clock.now())
      .executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  async clearAll(): Promise<number> {
    this.recorded.clear()
    const nowMs = this.clock.now()
    const live = await this.db.deleteFrom('rate_limit_blocks').where('blocked_until', '>', nowMs).executeTakeFirst()
    await this.db.deleteFrom('rate_limit_blocks').execute()
    return Number(live.numDeletedRows)
  }
}
