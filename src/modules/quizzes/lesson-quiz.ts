import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest } from '../../http/errors.ts'
import type { PartContentRules } from '../catalog/catalog.service.ts'
import { parseLessonQuiz, QuizSyntaxError, type Quiz } from './quiz-parser.ts'
import { createQuizRepository } from './quiz.repository.ts'

/** The editor's 400 for a malformed quiz: the line is counted in the lesson's Markdown as sent. */
export function quizProblemMessage(error: QuizSyntaxError): string {
  return `Quiz error on line ${error.line} of the lesson body: ${error.problem}`
}

/** The lesson's quiz, or a 400 naming the line of the first problem. */
export function quizOrRefuse(body: string): Quiz | null {
  try {
    return parseLessonQuiz(body).quiz
  } catch (error) {
    if (error instanceof QuizSyntaxError) throw badRequest(quizProblemMessage(error))
    throw error
  }
}

/**
 * A lesson's quiz, kept with its Markdown: the editor refuses a malformed quiz before anything is
 * written, and every saved body stores its parsed quiz (or removes the old one) in the same
 * transaction (modules/catalog/catalog.service.ts, PartContentRules).
 */
export const lessonQuizRules: PartContentRules = {
  check(body: string) {
    quizOrRefuse(body)
  },
  async written(db: Kysely<Database>, lessonId: number, body: string, nowMs: number) {
    await createQuizRepository(db).saveQuiz(lessonId, quizOrRefuse(body), nowMs)
  },
}
