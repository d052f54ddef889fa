import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Two-factor sign-in (CONTRACT §11).
// - totp_credentials: one authenticator per account. The secret is sealed (AES-256-GCM under a key
//   derived from the session secret, the user id as associated data), so a copy of the table
//   signs nobody in. `enabled_at` null: set up but not confirmed with a code yet.
//   `last_used_step` is the RFC 6238 time step of the last code accepted: one conditional UPDATE
//   moves it forward, so a code is accepted once however many requests carry it.
// - recovery_codes: only keyed hashes; `used_at` is set by the one UPDATE that spends a code.
// - sign_in_challenges: the half-done sign-in of a session whose password was right (the second
//   step is still to come), bound to that session: it ends with it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('totp_credentials')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('enabled_at', t.timestampMs)
    .addColumn('last_used_step', t.timestampMs)
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .addColumn('used_at', t.timestampMs)
    .execute()
  await db.schema
    .createIndex('recovery_codes_user_code')
    .on('recovery_codes')
    .columns(['user_id', 'code_hash'])
    .unique()
    .execute()
  await db.schema
    .createTable('sign_in_challenges')
    .addColumn('session_id_hash', 'text', (c) => c.primaryKey().references('sessions.id_hash').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('login_user_key', 'text', (c) => c.notNull())
    .addColumn('started_at', t.timestampMs, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('sign_in_challenges_started').on('sign_in_challenges').column('started_at').execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sign_in_challenges').execute()
  await db.schema.dropTable('recovery_codes').execute()
  await db.schema.dropTable('totp_credentials').execute()
}
