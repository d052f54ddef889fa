import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// The audit trail (CONTRACT §13): every security event, kept in the database for
// AUDIT_RETENTION_DAYS and shared by every instance. A flood of one denial from one address is one
// row per minute with its `count`; a granted action is a row of its own. `occurrence` tells them
// apart in the unique key that instances upsert on: '' for a denial's minute, so they share it,
// a random id for a granted action, so nobody else's event is ever counted into it. `user_id` has
// no foreign key and `username` is a copy, so a deleted account's trail still reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('audit_events')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('timestamp', t.timestampMs, (c) => c.notNull())
    .addColumn('minute', t.timestampMs, (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('user_id', 'integer')
    .addColumn('username', 'text')
    .addColumn('remote_addr', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('extra', 'text', (c) => c.notNull())
    .addColumn('occurrence', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('audit_events_row_key')
    .on('audit_events')
    .columns(['event', 'remote_addr', 'minute', 'occurrence'])
    .unique()
    .execute()
  // Newest first, and the cursor (timestamp, id); the filters each have their own.
  await db.schema.createIndex('audit_events_timestamp_id').on('audit_events').columns(['timestamp', 'id']).execute()
  await db.schema
    .createIndex('audit_events_event_timestamp_id')
    .on('audit_events')
    .columns(['event', 'timestamp', 'id'])
    .execute()
  await db.schema
    .createIndex('audit_events_user_timestamp_id')
    .on('audit_events')
    .columns(['user_id', 'timestamp', 'id'])
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute()
}
