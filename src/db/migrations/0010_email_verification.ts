import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Email verification (CONTRACT §10). `users.email_verified` starts false for every account that
// exists today: nobody has followed a link yet. Links are one-time tokens stored only as their
// SHA-256, each bound to the address it was sent to (`email_lower`), so a link sent to an address
// the account has since left verifies nothing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .alterTable('users')
    .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema
    .createTable('email_verification_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('email_lower', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .addColumn('expires_at', t.timestampMs, (c) => c.notNull())
    .addColumn('used_at', t.timestampMs)
    .execute()
  await db.schema
    .createIndex('email_verification_tokens_user_created')
    .on('email_verification_tokens')
    .columns(['user_id', 'created_at'])
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('email_verification_tokens').execute()
  await db.schema.alterTable('users').dropColumn('email_verified').execute()
}
