import type { Redis } from 'ioredis'
import type { Limit } from '../../config/index.ts'
import type { BlockAdmin, BlockEntry } from './block-list.ts'
import { POLICY_KEY_KIND, policyOfKey, secondsFromMs, type PolicyName } from './policies.ts'

/** Every Lectern counter in Redis lives under this prefix (after the client's own keyPrefix, if any). */
export const REDIS_KEY_PREFIX = 'lectern:rl:'
const SCAN_BATCH = 500

/**
 * Blocks as Redis holds them: a counter at or over its policy's limit is a block (the next
 * attempt is refused). Used by the admin API and by `lectern rate-limits` with REDIS_URL.
 */
export class RedisBlocks implements BlockAdmin {
  private readonly client: Redis
  private readonly limits: Readonly<Record<PolicyName, Limit>>

  constructor(client: Redis, limits: Readonly<Record<PolicyName, Limit>>) {
    this.client = client
    this.limits = limits
  }

  /** The client's own keyPrefix is applied to commands by ioredis, but neither to SCAN patterns nor to the keys SCAN returns. */
  private get clientPrefix(): string {
    return this.client.options.keyPrefix ?? ''
  }

  private async *counterKeys(): AsyncGenerator<string[]> {
    const pattern = `${this.clientPrefix}${REDIS_KEY_PREFIX}*`
    let cursor = '0'
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH)
      cursor = next
      if (keys.length > 0) yield keys.map((key) => key.slice(this.clientPrefix.length + REDIS_KEY_PREFIX.length))
    } while (cursor !== '0')
  }

  async list(): Promise<BlockEntry[]> {
    const blocks: BlockEntry[] = []
    for await (const keys of this.counterKeys()) {
      const pipeline = this.client.pipeline()
      for (const key of keys) pipeline.get(REDIS_KEY_PREFIX + key).pttl(REDIS_KEY_PREFIX + key)
      const replies = (await pipeline.exec()) ?? []
      keys.forEach((key, i) => {
        const policy = policyOfKey(key)
        const consumed = Number(replies[2 * i]?.[1])
        const msLeft = Number(replies[2 * i + 1]?.[1])
        if (policy === null || !(consumed >= this.limits[policy].points) || !(msLeft > 0)) return
        blocks.push({
          key,
          policy,
          key_kind: POLICY_KEY_KIND[policy],
          resets_in_seconds: secondsFromMs(msLeft),
        })
      })
    }
    return blocks.sort((a, b) => a.resets_in_seconds - b.resets_in_seconds || a.key.localeCompare(b.key))
  }

  async clear(key: string): Promise<boolean> {
    return (await this.client.del(REDIS_KEY_PREFIX + key)) > 0
  }

  /** Deletes every counter (blocked or not): "clear all" is a fresh start. Returns how many were blocks. */
  async clearAll(): Promise<number> {
    const blocked = (await this.list()).length
    for await (const keys of this.counterKeys()) await this.client.del(...keys.map((key) => REDIS_KEY_PREFIX + key))
    return blocked
  }
}
