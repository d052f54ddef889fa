import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Server-side sessions (docs/adr/0008). The cookie holds a 256-bit random value; only its
// SHA-256 is stored, so a copy of this table does not sign anybody in.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey().notNull())
    // null: an anonymous session (it anchors CSRF tokens before sign-in).
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .addColumn('last_seen_at', t.timestampMs, (c) => c.notNull())
    .addColumn('idle_expires_at', t.timestampMs, (c) => c.notNull())
    .addColumn('absolute_expires_at', t.timestampMs, (c) => c.notNull())
    .execute()
  // "End every session of this user" (logout everywhere, password change, disabling).
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute()
  // The purge deletes by expiry and evicts the least recently seen anonymous sessions.
  await db.schema.createIndex('sessions_idle_expires_at').on('sessions').column('idle_expires_at').execute()
  await db.schema.createIndex('sessions_last_seen_at').on('sessions').column('last_seen_at').execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute()
}
