import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

export interface LearnerRow {
  user_id: number
  username: string
  display_name: string
  enrolled_at: number
  completed: number
  last_completed_at: number | null
}

/** Who is enrolled in a course and how far each has come, in one query (modules/reports). */
export function createLearnersRepository(db: Kysely<Database>) {
  return {
    async forCourse(courseId: number): Promise<LearnerRow[]> {
      const rows = await db
        .selectFrom('enrollments')
        .innerJoin('users', 'users.id', 'enrollments.user_id')
        .leftJoin('lessons', 'lessons.course_id', 'enrollments.course_id')
        .leftJoin('lesson_completions', (join) =>
          join
            .onRef('lesson_completions.lesson_id', '=', 'lessons.id')
            .onRef('lesson_completions.user_id', '=', 'enrollments.user_id'),
        )
        .select((eb) => [
          'users.id as user_id',
          'users.username',
          'users.display_name',
          'enrollments.enrolled_at',
          eb.fn.count<number>('lesson_completions.lesson_id').as('completed'),
          eb.fn.max<number | null>('lesson_completions.completed_at').as('last_completed_at'),
        ])
        .where('enrollments.course_id', '=', courseId)
        .groupBy(['users.id', 'users.username', 'users.display_name', 'enrollments.enrolled_at'])
        .execute()
      // PostgreSQL returns count() and bigint max() as strings.
      return rows.map((row) => ({
        ...row,
        completed: Number(row.completed),
        enrolled_at: Number(row.enrolled_at),
        last_completed_at: row.last_completed_at === null ? null : Number(row.last_completed_at),
      }))
    },
  }
}
