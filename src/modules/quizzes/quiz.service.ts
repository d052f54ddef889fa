import type { FastifyRequest } from 'fastify'
import { notFound } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import type { NumberedPart, Viewer } from '../catalog/catalog.service.ts'
import type { Completion, CoursesService } from '../courses/courses.service.ts'
import { checkAnswers, gradeAnswers, type QuizAnswers, type QuizGrade } from './grading.ts'
import type { Quiz } from './quiz-parser.ts'
import type { QuizAttemptRow } from './quiz.repository.ts'

/** A quiz as a learner sees it: questions and choices, never which choices are right. */
export interface PublicQuiz {
  questions: Array<{ id: string; text: string; multiple: boolean; choices: Array<{ id: string; text: string }> }>
  pass_percent: number
}

/** The only way a stored quiz leaves the server: an allowlist of fields, without `correct`. */
export function publicQuiz(quiz: Quiz, passPercent: number): PublicQuiz {
  return {
    questions: quiz.questions.map((question) => ({
      id: question.id,
      text: question.text,
      multiple: question.multiple,
      choices: question.choices.map((choice) => ({ id: choice.id, text: choice.text })),
    })),
    pass_percent: passPercent,
  }
}

export const NO_QUIZ_MESSAGE = 'This lesson has no quiz'

/**
 * Taking a lesson's quiz (CONTRACT §12): grading, the attempts kept, the pass that completes the
 * lesson. Attempts are limited per learner and lesson (RATE_LIMIT_QUIZ, counted before grading and
 * given back when the answers prove malformed), so no quiz is answered by trying every combination.
 */
export function createQuizService(deps: { courses: CoursesService; limits: RateLimits }) {
  const { courses, limits } = deps
  const { quizzes } = courses

  async function quizOf(numbered: NumberedPart): Promise<Quiz> {
    const quiz = await quizzes.findQuiz(numbered.part.id)
    if (!quiz) throw notFound(NO_QUIZ_MESSAGE)
    return quiz
  }

  return {
    /** The lesson's quiz for anyone who may read the lesson, or null. */
    async view(numbered: NumberedPart): Promise<PublicQuiz | null> {
      const quiz = await quizzes.findQuiz(numbered.part.id)
      return quiz && publicQuiz(quiz, await quizzes.passPercent(numbered.work.id))
    },

    /** Grades an attempt, keeps it, and completes the lesson when it passed. */
    async submit(
      req: FastifyRequest,
      slug: string,
      n: number,
      viewer: RequestUser,
      answers: QuizAnswers,
    ): Promise<{ grade: QuizGrade; completion: Completion }> {
      const numbered = await courses.lesson(slug, n, viewer)
      const quiz = await quizOf(numbered)
      const { granted, refused } = await limits.reserve([['quiz', `${viewer.id}:${numbered.part.id}`]])
      if (refused) throw limits.refuse(req, refused.policy, refused.value, refused.decision)
      try {
        checkAnswers(quiz, answers)
      } catch (error) {
        // A malformed request graded nothing and learned nothing: it is not an attempt.
        await limits.refund(granted)
        throw error
      }
      const grade = gradeAnswers(quiz, answers, await quizzes.passPercent(numbered.work.id))
      const completion = await courses.recordQuizAttempt(numbered, viewer, { answers, ...grade })
      return { grade, completion }
    },

    /** The caller's attempts at the lesson's quiz, oldest first. */
    async attempts(slug: string, n: number, viewer: RequestUser): Promise<QuizAttemptRow[]> {
      const numbered = await courses.lesson(slug, n, viewer)
      await quizOf(numbered)
      return quizzes.attempts(viewer.id, numbered.part.id)
    },

    /** The caller's latest attempt, for the lesson page; null for anonymous callers or none yet. */
    async lastAttempt(numbered: NumberedPart, viewer: Viewer): Promise<QuizAttemptRow | null> {
      if (!viewer) return null
      return quizzes.latestAttempt(viewer.id, numbered.part.id)
    },
  }
}

export type QuizService = ReturnType<typeof createQuizService>
