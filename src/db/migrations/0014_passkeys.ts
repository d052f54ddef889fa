import { sql, type Kysely } from 'kysely'
import { columnTypes, dialectOf } from '../dialect.ts'

// Passkeys (CONTRACT §11). `passkeys` holds each account's WebAuthn credentials: the public key
// only (nothing here signs anybody in), the signature counter (a clone shows up as a counter
// that goes backwards), and the id the browser names it by, unique across accounts.
// `passkey_user_handles` gives each account a random WebAuthn user id, so authenticators never
// learn (and a discoverable credential never reveals) the numeric account id.
//
// `webauthn_challenges` keeps the challenge of a ceremony under way. It lives in the database
// (not in one process's memory), so the options can come from one instance and the answer go to
// another on the same PostgreSQL; it is keyed by the server-side session (itself a database row),
// one per session and purpose, so an unauthenticated caller can hold no more challenges than
// sessions (which are bounded and purged), and a challenge cannot be answered from another
// session. A new ceremony replaces the pending one; deleting the row is what consumes it, so of
// two requests racing with one challenge exactly one gets it. Ending the session deletes it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  // A signature counter is an unsigned 32-bit number: more than PostgreSQL's integer holds.
  const counter = dialectOf(db) === 'postgres' ? sql`bigint` : sql`integer`
  await db.schema
    .createTable('passkeys')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    .addColumn('public_key', t.blob, (c) => c.notNull())
    .addColumn('counter', counter, (c) => c.notNull())
    // JSON array of the transports the authenticator reported ("internal", "usb", "hybrid", …).
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .addColumn('last_used_at', t.timestampMs)
    .execute()
  await db.schema.createIndex('passkeys_user_id').on('passkeys').column('user_id').execute()

  await db.schema
    .createTable('passkey_user_handles')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // base64url of 32 random bytes.
    .addColumn('handle', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('session_id_hash', 'text', (c) => c.notNull().references('sessions.id_hash').onDelete('cascade'))
    // 'registration' or 'authentication'.
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('challenge', 'text', (c) => c.notNull())
    // The account adding a passkey; null for a sign-in, where nobody is known yet.
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('expires_at', t.timestampMs, (c) => c.notNull())
    .addPrimaryKeyConstraint('webauthn_challenges_pk', ['session_id_hash', 'purpose'])
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webauthn_challenges').execute()
  await db.schema.dropTable('passkey_user_handles').execute()
  await db.schema.dropTable('passkeys').execute()
}
