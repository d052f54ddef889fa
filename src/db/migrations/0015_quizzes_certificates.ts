import type { Kysely } from 'kysely'
import { columnTypes } from '../dialect.ts'

// Quizzes and certificates (CONTRACT §12).
// - lesson_quizzes: a lesson's parsed quiz with its right answers, written in the same transaction
//   as the lesson's Markdown; it never leaves the server except as a grade.
// - course_settings: a course's pass mark (course.md `pass_percent`); no row means the default.
// - quiz_attempts: every graded attempt, kept; the (user, lesson) index serves a learner's history,
//   the gate on completing a lesson and the rate of attempts.
// - certificates: one per (user, course) by a unique key, so parallel completions issue one. The
//   learner's name and the course's title and slug are copies taken when it was issued, and the
//   course reference is set to null when the course goes: a certificate stays valid whatever
//   happens to the course later. It goes with its learner's account.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('lesson_quizzes')
    .addColumn('lesson_id', 'integer', (c) => c.primaryKey().notNull().references('lessons.id').onDelete('cascade'))
    .addColumn('questions', 'text', (c) => c.notNull())
    .addColumn('updated_at', t.timestampMs, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('course_settings')
    .addColumn('course_id', 'integer', (c) => c.primaryKey().notNull().references('courses.id').onDelete('cascade'))
    .addColumn('pass_percent', 'integer', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('quiz_attempts')
    .addColumn('id', t.id, (c) => c.primaryKey().notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('lesson_id', 'integer', (c) => c.notNull().references('lessons.id').onDelete('cascade'))
    .addColumn('answers', 'text', (c) => c.notNull())
    .addColumn('correct', 'text', (c) => c.notNull())
    .addColumn('score', 'integer', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('percent', 'double precision', (c) => c.notNull())
    .addColumn('passed', 'integer', (c) => c.notNull())
    .addColumn('created_at', t.timestampMs, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('quiz_attempts_user_lesson')
    .on('quiz_attempts')
    .columns(['user_id', 'lesson_id', 'created_at'])
    .execute()
  await db.schema.createIndex('quiz_attempts_lesson_id').on('quiz_attempts').column('lesson_id').execute()

  await db.schema
    .createTable('certificates')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('course_id', 'integer', (c) => c.references('courses.id').onDelete('set null'))
    .addColumn('learner_name', 'text', (c) => c.notNull())
    .addColumn('course_slug', 'text', (c) => c.notNull())
    .addColumn('course_title', 'text', (c) => c.notNull())
    .addColumn('issued_at', t.timestampMs, (c) => c.notNull())
    .addUniqueConstraint('certificates_user_course_unique', ['user_id', 'course_id'])
    .execute()
  await db.schema.createIndex('certificates_course_id').on('certificates').column('course_id').execute()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['certificates', 'quiz_attempts', 'course_settings', 'lesson_quizzes']) {
    await db.schema.dropTable(table).execute()
  }
}
