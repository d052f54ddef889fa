import { badRequest } from '../../http/errors.ts'
import type { Quiz } from './quiz-parser.ts'

/** `{"<question id>": ["<choice id>", …]}` as sent. */
export type QuizAnswers = Record<string, string[]>

export interface QuizGrade {
  score: number
  total: number
  /** score / total × 100, one decimal. */
  percent: number
  passed: boolean
  /** question id → answered right (exactly the right choices). */
  correct: Record<string, boolean>
}

/**
 * Refuses answers that are not a guess at this quiz: a question missing or unknown, a choice
 * unknown or not of its question, a choice twice, no choice, or two choices for a question that
 * has one right answer (a single-choice question is a set of radio buttons: two answers are a
 * malformed request, not a wrong guess; docs/content.md). Nothing here depends on which choices
 * are right, so a refusal tells nothing about the answers.
 */
export function checkAnswers(quiz: Quiz, answers: QuizAnswers): void {
  const questionIds = new Set(quiz.questions.map((question) => question.id))
  for (const id of Object.keys(answers)) {
    if (!questionIds.has(id)) throw badRequest(`Unknown question id: ${id}`)
  }
  for (const question of quiz.questions) {
    if (!Object.hasOwn(answers, question.id)) throw badRequest(`Answer every question: ${question.id} is missing`)
    const chosen = answers[question.id]!
    if (chosen.length === 0) throw badRequest(`Answer every question: ${question.id} has no choice`)
    const choiceIds = new Set(question.choices.map((choice) => choice.id))
    const seen = new Set<string>()
    for (const id of chosen) {
      if (!choiceIds.has(id)) throw badRequest(`Unknown choice id for ${question.id}: ${id}`)
      if (seen.has(id)) throw badRequest(`Choice ${id} is given twice`)
      seen.add(id)
    }
    if (!question.multiple && chosen.length > 1) throw badRequest(`Question ${question.id} takes one choice`)
  }
}

/** Grades checked answers: a question is right only with exactly its right choices. */
export function gradeAnswers(quiz: Quiz, answers: QuizAnswers, passPercent: number): QuizGrade {
  const correct: Record<string, boolean> = {}
  let score = 0
  for (const question of quiz.questions) {
    const chosen = new Set(answers[question.id])
    const right = question.choices.filter((choice) => choice.correct).map((choice) => choice.id)
    const isRight = chosen.size === right.length && right.every((id) => chosen.has(id))
    correct[question.id] = isRight
    if (isRight) score++
  }
  const total = quiz.questions.length
  const percent = Math.round((score * 1000) / total) / 10
  // Judged on the exact share, not the rounded percent: 2 of 3 (66.67 %) does not pass at 66.7.
  return { score, total, percent, passed: score * 100 >= passPercent * total, correct }
}
