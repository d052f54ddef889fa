import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Invitations to register (CONTRACT §15). As with reset links, only the token's SHA-256 is
// stored. `used_at` is set by the one UPDATE that consumes an invitation, in the transaction
// that creates its account; a revoked invitation is deleted. An account or course removed later
// leaves the invitation's history readable (set null), never blocks the removal.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('invitations')
    .addColumn('id', t.id, (c) => c.primaryKey().notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_lower', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('course_id', 'integer', (c) => c.references('courses.id').onDelete('set null'))
    .addColumn('invited_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .addColumn('expires_at', t.timestampMs, (c) => c.notNull())
    .addColumn('used_at', t.timestampMs)
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .execute()
  await db.schema.createIndex('invitations_email_lower').on('invitations').column('email_lower').execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invitations').execute()
}
