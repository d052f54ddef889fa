import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// One-time password-reset links (CONTRACT §10). The token itself is never stored: only its
// SHA-256, so a copy of the database opens no account. `used_at` is set by the one UPDATE that
// consumes a token; `issued_by` tells the links a person asked for (the 3-per-hour cap counts
// those) from the ones an admin or the command line made.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('password_reset_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('issued_by', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .addColumn('expires_at', t.timestampMs, (c) => c.notNull())
    .addColumn('used_at', t.timestampMs)
    .execute()
  await db.schema
    .createIndex('password_reset_tokens_user_created')
    .on('password_reset_tokens')
    .columns(['user_id', 'created_at'])
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('password_reset_tokens').execute()
}
