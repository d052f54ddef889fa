import { sql, type Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

/**
 * Lesson media and the owners of courses and ebooks (CONTRACT §12).
 *
 * `media`: re-encoded images, stored in the database like avatars so every instance serves the
 * same bytes. A row is named by the SHA-256 of its bytes: the same image stored twice is one row,
 * and its URL never changes meaning, so it can be cached as immutable. Rows are never deleted by
 * a lesson change: an old page, a copy of a lesson or another course may still point at them.
 *
 * `work_owners`: who may change a course or an ebook. One table for both kinds, with a column
 * per kind (exactly one set), so each row follows its work away (ON DELETE CASCADE) and its user.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('media')
    // The hex SHA-256 of `data`: the id in the URL and the strong ETag.
    .addColumn('sha256', 'text', (c) => c.primaryKey().notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('data', t.blob, (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    // Who stored it first (null: an import); kept when the account goes.
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('work_owners')
    .addColumn('id', t.id, (c) => c.primaryKey().notNull())
    .addColumn('course_id', 'integer', (c) => c.references('courses.id').onDelete('cascade'))
    .addColumn('ebook_id', 'integer', (c) => c.references('ebooks.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addCheckConstraint('work_owners_one_work', sql`(course_id IS NULL) <> (ebook_id IS NULL)`)
    .execute()
  await db.schema
    .createIndex('work_owners_course')
    .unique()
    .on('work_owners')
    .columns(['course_id', 'user_id'])
    .execute()
  await db.schema.createIndex('work_owners_ebook').unique().on('work_owners').columns(['ebook_id', 'user_id']).execute()
  await db.schema.createIndex('work_owners_user').on('work_owners').column('user_id').execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('work_owners').execute()
  await db.schema.dropTable('media').execute()
}
