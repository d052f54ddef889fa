import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

/**
 * Courses with ordered lessons, ebooks with ordered chapters, and learners' progress
 * (docs/content.md). Progress rows reference both the user and the lesson/chapter with
 * ON DELETE CASCADE: deleting a user takes their progress with them, deleting a lesson takes
 * its completions, so "completed" can never count a lesson that no longer exists.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)

  for (const [works, parts, workId] of [
    ['courses', 'lessons', 'course_id'],
    ['ebooks', 'chapters', 'ebook_id'],
  ] as const) {
    await db.schema
      .createTable(works)
      .addColumn('id', t.id, (c) => c.primaryKey().notNull())
      .addColumn('slug', 'text', (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('published', 'integer', (c) => c.notNull().defaultTo(0))
      // Who created it; kept when the author's account goes.
      .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
      .addColumn('created_at', t.timestampMs, (c) => c.notNull())
      .addColumn('updated_at', t.timestampMs, (c) => c.notNull())
      .execute()

    await db.schema
      .createTable(parts)
      .addColumn('id', t.id, (c) => c.primaryKey().notNull())
      .addColumn(workId, 'integer', (c) => c.notNull().references(`${works}.id`).onDelete('cascade'))
      // Sort key only; the 1-based number in URLs is the rank by (position, id). Not unique, so
      // two concurrent appends can never fail on it.
      .addColumn('position', 'integer', (c) => c.notNull())
      // The import file's name without its number; null for parts written through the API.
      .addColumn('source_key', 'text')
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('body_markdown', 'text', (c) => c.notNull())
      .addColumn('created_at', t.timestampMs, (c) => c.notNull())
      .addColumn('updated_at', t.timestampMs, (c) => c.notNull())
      // NULLs are distinct on both databases: many API-written parts, one per imported name.
      .addUniqueConstraint(`${parts}_source_key_unique`, [workId, 'source_key'])
      .execute()
    await db.schema.createIndex(`${parts}_order`).on(parts).columns([workId, 'position', 'id']).execute()
  }

  await db.schema
    .createTable('enrollments')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('course_id', 'integer', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('enrolled_at', t.timestampMs, (c) => c.notNull())
    .addPrimaryKeyConstraint('enrollments_pk', ['user_id', 'course_id'])
    .execute()
  await db.schema.createIndex('enrollments_course_id').on('enrollments').column('course_id').execute()

  // One row per (user, lesson): completing twice is a no-op by construction.
  await db.schema
    .createTable('lesson_completions')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('lesson_id', 'integer', (c) => c.notNull().references('lessons.id').onDelete('cascade'))
    .addColumn('completed_at', t.timestampMs, (c) => c.notNull())
    .addPrimaryKeyConstraint('lesson_completions_pk', ['user_id', 'lesson_id'])
    .execute()
  await db.schema.createIndex('lesson_completions_lesson_id').on('lesson_completions').column('lesson_id').execute()

  // One position per (user, ebook). `read_at` is when the reader was there (it decides which of
  // two updates is newer); `recorded_at` is when the server stored it.
  await db.schema
    .createTable('reading_positions')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('ebook_id', 'integer', (c) => c.notNull().references('ebooks.id').onDelete('cascade'))
    .addColumn('chapter_id', 'integer', (c) => c.notNull().references('chapters.id').onDelete('cascade'))
    .addColumn('position', 'double precision', (c) => c.notNull())
    .addColumn('read_at', t.timestampMs, (c) => c.notNull())
    .addColumn('recorded_at', t.timestampMs, (c) => c.notNull())
    .addPrimaryKeyConstraint('reading_positions_pk', ['user_id', 'ebook_id'])
    .execute()
  await db.schema.createIndex('reading_positions_ebook_id').on('reading_positions').column('ebook_id').execute()
  await db.schema.createIndex('reading_positions_chapter_id').on('reading_positions').column('chapter_id').execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'reading_positions',
    'lesson_completions',
    'enrollments',
    'chapters',
    'ebooks',
    'lessons',
    'courses',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
