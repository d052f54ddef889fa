import type { Kysely } from 'kysely'
import { dialectOf } from '../../db/dialect.ts'
import type { Database } from '../../db/schema.ts'

export interface ProgressCounts {
  completed: number
  total: number
}

/** Enrollments and lesson completions. Pass a transaction to run the queries inside it. */
export function createCourseProgressRepository(db: Kysely<Database>) {
  return {
    /** Idempotent: enrolling twice keeps the first date. */
    async enroll(userId: number, courseId: number, nowMs: number): Promise<void> {
      await db
        .insertInto('enrollments')
        .values({ user_id: userId, course_id: courseId, enrolled_at: nowMs })
        .onConflict((oc) => oc.columns(['user_id', 'course_id']).doNothing())
        .execute()
    },

    /**
     * Holds the learner's enrolment row until the transaction ends (PostgreSQL; SQLite runs one
     * write transaction at a time anyway): two completions in one course by one learner take
     * turns, so the second sees the first's lesson when it judges whether the course is complete.
     */
    async lockEnrollment(userId: number, courseId: number): Promise<void> {
      await db
        .selectFrom('enrollments')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('course_id', '=', courseId)
        .$if(dialectOf(db) === 'postgres', (q) => q.forUpdate())
        .execute()
    },

    async enrolledAt(userId: number, courseId: number): Promise<number | null> {
      const row = await db
        .selectFrom('enrollments')
        .select('enrolled_at')
        .where('user_id', '=', userId)
        .where('course_id', '=', courseId)
        .executeTakeFirst()
      return row?.enrolled_at ?? null
    },

    /** Idempotent by the primary key (user, lesson): completing twice keeps the first time. */
    async complete(userId: number, lessonId: number, nowMs: number): Promise<void> {
      await db
        .insertInto('lesson_completions')
        .values({ user_id: userId, lesson_id: lessonId, completed_at: nowMs })
        .onConflict((oc) => oc.columns(['user_id', 'lesson_id']).doNothing())
        .execute()
    },

    async completedLessonIds(userId: number, courseId: number): Promise<Set<number>> {
      const rows = await db
        .selectFrom('lesson_completions')
        .innerJoin('lessons', 'lessons.id', 'lesson_completions.lesson_id')
        .select('lesson_completions.lesson_id')
        .where('lesson_completions.user_id', '=', userId)
        .where('lessons.course_id', '=', courseId)
        .execute()
      return new Set(rows.map((row) => row.lesson_id))
    },

    /**
     * Completed and total lessons per course, counted now over the lessons that exist now, in
     * one statement (one snapshot): a completion belongs to an existing lesson by its foreign
     * key, so `completed` can never exceed `total`. Courses without lessons are absent.
     */
    async counts(userId: number, courseIds: number[]): Promise<Map<number, ProgressCounts>> {
      if (courseIds.length === 0) return new Map()
      const rows = await db
        .selectFrom('lessons')
        .leftJoin('lesson_completions', (join) =>
          join.onRef('lesson_completions.lesson_id', '=', 'lessons.id').on('lesson_completions.user_id', '=', userId),
        )
        .select((eb) => [
          'lessons.course_id',
          eb.fn.countAll<number>().as('total'),
          eb.fn.count<number>('lesson_completions.lesson_id').as('completed'),
        ])
        .where('lessons.course_id', 'in', courseIds)
        .groupBy('lessons.course_id')
        .execute()
      return new Map(rows.map((row) => [row.course_id, { completed: Number(row.completed), total: Number(row.total) }]))
    },

    /** The user's enrollments, oldest first. */
    enrollments(userId: number): Promise<Array<{ course_id: number; enrolled_at: number }>> {
      return db
        .selectFrom('enrollments')
        .select(['course_id', 'enrolled_at'])
        .where('user_id', '=', userId)
        .orderBy('enrolled_at')
        .orderBy('course_id')
        .execute()
    },
  }
}

export type CourseProgressRepository = ReturnType<typeof createCourseProgressRepository>
