import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Where each account last signed in successfully, by client address (a keyed hash of it, never
// the address): someone signing in from an address their account used within the last 30 days
// gets past a block of their username that a guesser elsewhere keeps renewing (docs/SECURITY.md).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('sign_in_addresses')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('address_hash', 'text', (c) => c.notNull())
    .addColumn('last_sign_in_at', t.timestampMs, (c) => c.notNull())
    .addPrimaryKeyConstraint('sign_in_addresses_pk', ['user_id', 'address_hash'])
    .execute()
  await db.schema
    .createIndex('sign_in_addresses_last_sign_in_at')
    .on('sign_in_addresses')
    .column('last_sign_in_at')
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sign_in_addresses').execute()
}
