import type { Kysely, Selectable } from 'kysely'
import type { Database, QuizAttemptsTable } from '../../db/schema.ts'
import { DEFAULT_PASS_PERCENT, type Quiz, type QuizQuestion } from './quiz-parser.ts'

export interface QuizAttemptRow {
  id: number
  answers: Record<string, string[]>
  correct: Record<string, boolean>
  score: number
  total: number
  percent: number
  passed: boolean
  createdAt: number
}

export interface NewQuizAttempt {
  userId: number
  lessonId: number
  answers: Record<string, string[]>
  correct: Record<string, boolean>
  score: number
  total: number
  percent: number
  passed: boolean
  createdAt: number
}

const ATTEMPT_COLUMNS = ['id', 'answers', 'correct', 'score', 'total', 'percent', 'passed', 'created_at'] as const

type AttemptColumns = Pick<Selectable<QuizAttemptsTable>, (typeof ATTEMPT_COLUMNS)[number]>

const attemptOf = (row: AttemptColumns): QuizAttemptRow => ({
  id: row.id,
  answers: JSON.parse(row.answers) as Record<string, string[]>,
  correct: JSON.parse(row.correct) as Record<string, boolean>,
  score: row.score,
  total: row.total,
  percent: Number(row.percent),
  passed: row.passed === 1,
  createdAt: Number(row.created_at),
})

/** Quizzes, pass marks and attempts. Pass a transaction to run the queries inside it. */
export function createQuizRepository(db: Kysely<Database>) {
  return {
    /** Stores the lesson's quiz, or removes it (null): called with every write of the lesson's Markdown. */
    async saveQuiz(lessonId: number, quiz: Quiz | null, nowMs: number): Promise<void> {
      if (quiz === null) {
        await db.deleteFrom('lesson_quizzes').where('lesson_id', '=', lessonId).execute()
        return
      }
      const questions = JSON.stringify(quiz.questions)
      await db
        .insertInto('lesson_quizzes')
        .values({ lesson_id: lessonId, questions, updated_at: nowMs })
        .onConflict((oc) => oc.column('lesson_id').doUpdateSet({ questions, updated_at: nowMs }))
        .execute()
    },

    async findQuiz(lessonId: number): Promise<Quiz | null> {
      const row = await db
        .selectFrom('lesson_quizzes')
        .select('questions')
        .where('lesson_id', '=', lessonId)
        .executeTakeFirst()
      return row ? { questions: JSON.parse(row.questions) as QuizQuestion[] } : null
    },

    /** The lessons of a course that have a quiz. */
    async lessonIdsWithQuiz(courseId: number): Promise<Set<number>> {
      const rows = await db
        .selectFrom('lesson_quizzes')
        .innerJoin('lessons', 'lessons.id', 'lesson_quizzes.lesson_id')
        .select('lesson_quizzes.lesson_id')
        .where('lessons.course_id', '=', courseId)
        .execute()
      return new Set(rows.map((row) => row.lesson_id))
    },

    async passPercent(courseId: number): Promise<number> {
      const row = await db
        .selectFrom('course_settings')
        .select('pass_percent')
        .where('course_id', '=', courseId)
        .executeTakeFirst()
      return row?.pass_percent ?? DEFAULT_PASS_PERCENT
    },

    /** null: back to the default. */
    async setPassPercent(courseId: number, passPercent: number | null): Promise<void> {
      if (passPercent === null) {
        await db.deleteFrom('course_settings').where('course_id', '=', courseId).execute()
        return
      }
      await db
        .insertInto('course_settings')
        .values({ course_id: courseId, pass_percent: passPercent })
        .onConflict((oc) => oc.column('course_id').doUpdateSet({ pass_percent: passPercent }))
        .execute()
    },

    async insertAttempt(attempt: NewQuizAttempt): Promise<void> {
      await db
        .insertInto('quiz_attempts')
        .values({
          user_id: attempt.userId,
          lesson_id: attempt.lessonId,
          answers: JSON.stringify(attempt.answers),
          correct: JSON.stringify(attempt.correct),
          score: attempt.score,
          total: attempt.total,
          percent: attempt.percent,
          passed: attempt.passed ? 1 : 0,
          created_at: attempt.createdAt,
        })
        .execute()
    },

    /** The user's attempts at the lesson's quiz, oldest first. */
    async attempts(userId: number, lessonId: number): Promise<QuizAttemptRow[]> {
      const rows = await db
        .selectFrom('quiz_attempts')
        .select(ATTEMPT_COLUMNS)
        .where('user_id', '=', userId)
        .where('lesson_id', '=', lessonId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(attemptOf)
    },

    /** The user's latest attempt at the lesson's quiz, or null. */
    async latestAttempt(userId: number, lessonId: number): Promise<QuizAttemptRow | null> {
      const row = await db
        .selectFrom('quiz_attempts')
        .select(ATTEMPT_COLUMNS)
        .where('user_id', '=', userId)
        .where('lesson_id', '=', lessonId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
      return row ? attemptOf(row) : null
    },

    async hasPassed(userId: number, lessonId: number): Promise<boolean> {
      const row = await db
        .selectFrom('quiz_attempts')
        .select('id')
        .where('user_id', '=', userId)
        .where('lesson_id', '=', lessonId)
        .where('passed', '=', 1)
        .limit(1)
        .executeTakeFirst()
      return row !== undefined
    },

    /**
     * Each learner's best quiz result in the course: the highest percent of any attempt at any of
     * its lessons' quizzes. Learners without an attempt are absent. (The learners report's
     * `quiz_best_percent`.)
     */
    async quizBestPercents(courseId: number): Promise<Map<number, number>> {
      const rows = await db
        .selectFrom('quiz_attempts')
        .innerJoin('lessons', 'lessons.id', 'quiz_attempts.lesson_id')
        .select((eb) => ['quiz_attempts.user_id', eb.fn.max('quiz_attempts.percent').as('best')])
        .where('lessons.course_id', '=', courseId)
        .groupBy('quiz_attempts.user_id')
        .execute()
      return new Map(rows.map((row) => [row.user_id, Number(row.best)]))
    },
  }
}

export type QuizRepository = ReturnType<typeof createQuizRepository>

/** The learners report's seam (feat-media's `quizBestPercents` dependency), over a database. */
export function quizBestPercents(db: Kysely<Database>): (courseId: number) => Promise<Map<number, number>> {
  const repository = createQuizRepository(db)
  return (courseId) => repository.quizBestPercents(courseId)
}
