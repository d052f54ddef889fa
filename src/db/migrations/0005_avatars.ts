import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

/**
 * One avatar per user, stored in the database: every instance behind a proxy serves the same
 * bytes, and a re-encoded avatar (at most 512×512) is a few tens of kilobytes. Replacing one
 * is a single upsert of the row, so a reader sees the old avatar or the new one, never half.
 * The row goes with its user (ON DELETE CASCADE).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('avatars')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().notNull().references('users.id').onDelete('cascade'))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('data', t.blob, (c) => c.notNull())
    // Hex SHA-256 of `data`: the strong ETag.
    .addColumn('sha256', 'text', (c) => c.notNull())
    // The last segment of the avatar's URL (`<hash prefix>.<ext>`); selected with every user.
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('updated_at', t.timestampMs, (c) => c.notNull())
    .execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('avatars').execute()
}
