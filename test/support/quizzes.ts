import { readFileSync } from 'node:fs'
import { parseLessonQuiz } from '../../src/modules/quizzes/quiz-parser.ts'

/** A lesson with the quiz of CONTRACT §12: q1 single choice (q1c2 right), q2 multiple (q2c1 and q2c2 right). */
export const QUIZ_LESSON = [
  'Status codes tell the client what happened.',
  '',
  '```quiz',
  '? What does status 429 mean?',
  '- [ ] Forbidden',
  '- [x] Too many requests',
  '? Which formats are accepted as avatars?',
  '- [x] PNG',
  '- [x] JPEG',
  '- [ ] BMP',
  '```',
  '',
  'Read on.',
].join('\n')

/** The demo course's quiz lesson (content/demo/web-fundamentals/06-security-basics.md). */
export const DEMO_QUIZ_LESSON = 6

/** The right answers of the demo quiz, read from its Markdown as its author wrote them. */
export function demoQuizAnswers(): Record<string, string[]> {
  const markdown = readFileSync(
    new URL('../../content/demo/web-fundamentals/06-security-basics.md', import.meta.url),
    'utf8',
  )
  const { quiz } = parseLessonQuiz(markdown)
  if (!quiz) throw new Error('the demo lesson lost its quiz')
  return Object.fromEntries(
    quiz.questions.map((question) => [question.id, question.choices.filter((c) => c.correct).map((c) => c.id)]),
  )
}
