import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Rate-limit blocks of the in-memory store (docs/adr/0010): the server records a block when a
// counter reaches its limit, `lectern rate-limits list` reads them, and `clear` deletes them;
// the server sees the deletion at the next refused attempt and resets its counter.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('rate_limit_blocks')
    .addColumn('key', 'text', (c) => c.primaryKey().notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('key_kind', 'text', (c) => c.notNull())
    // Random per recorded block: a server tells "cleared, then blocked again" from "still blocked".
    .addColumn('block_id', 'text', (c) => c.notNull())
    .addColumn('blocked_until', t.timestampMs, (c) => c.notNull())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('rate_limit_blocks_blocked_until')
    .on('rate_limit_blocks')
    .column('blocked_until')
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_blocks').execute()
}
