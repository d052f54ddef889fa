import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

/**
 * Every file name a user's avatar has been stored under. `GET /avatars/<id>/<name>` redirects an
 * earlier avatar's URL to the current one; only names found here are earlier avatars, so any
 * other name is the same 404 as an unknown user (otherwise the redirect tells who has an avatar).
 * The rows go with their user (ON DELETE CASCADE).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('avatar_file_names')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('stored_at', t.timestampMs, (c) => c.notNull())
    .addPrimaryKeyConstraint('avatar_file_names_pk', ['user_id', 'file_name'])
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('avatar_file_names').execute()
}
