/**
 * The quiz block of a lesson's Markdown (CONTRACT §12, docs/content.md "Quizzes"):
 *
 *     ```quiz
 *     ? What does status 429 mean?
 *     - [ ] Forbidden
 *     - [x] Too many requests
 *     ```
 *
 * Pure functions, no I/O: the importer, the editor API and the pages all parse with them, so a
 * quiz that imports also saves through the API and the other way round.
 */

/** Choices a question may have, inclusive. */
export const MIN_CHOICES = 2
export const MAX_CHOICES = 10
/** Far beyond a real lesson's quiz; keeps a stored quiz and its form small. */
export const MAX_QUESTIONS = 100
export const QUESTION_MAX_CHARS = 1000
export const CHOICE_MAX_CHARS = 500
/** The share of right answers that passes, when course.md does not say. */
export const DEFAULT_PASS_PERCENT = 80

export interface QuizChoice {
  /** `q1c2`: the question's id and the choice's 1-based place in it. */
  id: string
  text: string
  correct: boolean
}

export interface QuizQuestion {
  /** `q1`: the 1-based place in the quiz. Stable while the quiz is unchanged (re-imports keep it). */
  id: string
  text: string
  /** More than one right choice: answered right only with exactly those. */
  multiple: boolean
  choices: QuizChoice[]
}

export interface Quiz {
  questions: QuizQuestion[]
}

/** Where the block is in the Markdown: 1-based lines of its opening and closing fences. */
export interface QuizBlock {
  startLine: number
  endLine: number
}

export interface ParsedLesson {
  quiz: Quiz | null
  block: QuizBlock | null
}

/** A malformed quiz; `line` is 1-based in the Markdown that was parsed. */
export class QuizSyntaxError extends Error {
  readonly line: number
  readonly problem: string

  constructor(line: number, problem: string) {
    super(`quiz, line ${line}: ${problem}`)
    this.name = 'QuizSyntaxError'
    this.line = line
    this.problem = problem
  }
}

interface Fence {
  char: '`' | '~'
  length: number
}

/** A fence a block may open with: up to three spaces, then ``` or ~~~ (or longer), then the info string. */
const OPENING_FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/
/**
 * A `quiz` fence anywhere else: indented, quoted or inside a list item. Markdown would still show
 * it as a code block (with the answers), so it is refused rather than rendered.
 */
const MISPLACED_QUIZ_FENCE = /^\s*(?:>\s*)*(?:(?:[-*+]|\d{1,9}[.)])\s+)?(?:`{3,}|~{3,})\s*quiz\s*$/
const QUESTION = /^\?(.*)$/
/** Anything that looks like a list item is meant as a choice, and must be one exactly. */
const CHOICE_LIKE = /^[-*+]\s*\[/
const CHOICE = /^- \[([ xX])\] (.*)$/

function openingFence(line: string): (Fence & { info: string }) | null {
  const match = OPENING_FENCE.exec(line)
  if (!match) return null
  const marks = match[1]!
  const info = match[2]!.trim()
  // A backtick fence's info string cannot hold a backtick (CommonMark): then it is inline code.
  if (marks[0] === '`' && info.includes('`')) return null
  return { char: marks[0] as '`' | '~', length: marks.length, info }
}

function closes(line: string, fence: Fence): boolean {
  const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line)
  return match !== null && match[1]![0] === fence.char && match[1]!.length >= fence.length
}

const languageOf = (info: string) => info.split(/\s+/, 1)[0] ?? ''

/** Finds the quiz block: its lines, and the lines between its fences. Throws for a misplaced, second or unterminated one. */
function findQuizBlock(lines: readonly string[]): { block: QuizBlock; body: string[] } | null {
  let found: { block: QuizBlock; body: string[] } | null = null
  let index = 0
  while (index < lines.length) {
    const line = lines[index]!
    const fence = openingFence(line)
    if (!fence) {
      if (MISPLACED_QUIZ_FENCE.test(line)) {
        throw new QuizSyntaxError(
          index + 1,
          'a quiz block must start at the beginning of a line, outside lists and quotes',
        )
      }
      index++
      continue
    }
    let end = index + 1
    while (end < lines.length && !closes(lines[end]!, fence)) end++
    if (languageOf(fence.info) === 'quiz') {
      if (end >= lines.length) throw new QuizSyntaxError(index + 1, 'the quiz block has no closing fence')
      if (found) {
        throw new QuizSyntaxError(
          index + 1,
          `a lesson holds one quiz; another quiz block starts on line ${found.block.startLine}`,
        )
      }
      found = { block: { startLine: index + 1, endLine: end + 1 }, body: lines.slice(index + 1, end) }
    }
    // An unclosed code block of another language runs to the end of the document, as Markdown has it.
    index = end + 1
  }
  return found
}

function parseQuestions(body: readonly string[], firstLine: number): Quiz {
  const questions: Array<QuizQuestion & { line: number }> = []
  const finish = (question: (typeof questions)[number] | undefined) => {
    if (!question) return
    const count = question.choices.length
    if (count < MIN_CHOICES || count > MAX_CHOICES) {
      throw new QuizSyntaxError(
        question.line,
        `the question has ${count} choice${count === 1 ? '' : 's'}; it needs ${MIN_CHOICES} to ${MAX_CHOICES}`,
      )
    }
    const right = question.choices.filter((choice) => choice.correct).length
    if (right === 0) throw new QuizSyntaxError(question.line, 'the question has no right choice (mark one with [x])')
    question.multiple = right > 1
  }

  for (const [offset, raw] of body.entries()) {
    const lineNumber = firstLine + offset
    const line = raw.trim()
    if (line === '') continue
    const question = QUESTION.exec(line)
    if (question) {
      finish(questions.at(-1))
      const text = question[1]!.trim()
      if (text === '') throw new QuizSyntaxError(lineNumber, 'the question has no text after "?"')
      if ([...text].length > QUESTION_MAX_CHARS) {
        throw new QuizSyntaxError(lineNumber, `the question is longer than ${QUESTION_MAX_CHARS} characters`)
      }
      if (questions.length === MAX_QUESTIONS) {
        throw new QuizSyntaxError(lineNumber, `a quiz has at most ${MAX_QUESTIONS} questions`)
      }
      const id = `q${questions.length + 1}`
      questions.push({ id, text, multiple: false, choices: [], line: lineNumber })
      continue
    }
    if (CHOICE_LIKE.test(line)) {
      const choice = CHOICE.exec(line)
      if (!choice) {
        throw new QuizSyntaxError(lineNumber, 'a choice is written "- [ ] text" or "- [x] text"')
      }
      const current = questions.at(-1)
      if (!current) throw new QuizSyntaxError(lineNumber, 'a choice comes before any question (start one with "? ")')
      const text = choice[2]!.trim()
      if (text === '') throw new QuizSyntaxError(lineNumber, 'the choice has no text')
      if ([...text].length > CHOICE_MAX_CHARS) {
        throw new QuizSyntaxError(lineNumber, `the choice is longer than ${CHOICE_MAX_CHARS} characters`)
      }
      current.choices.push({ id: `${current.id}c${current.choices.length + 1}`, text, correct: choice[1] !== ' ' })
      continue
    }
    throw new QuizSyntaxError(
      lineNumber,
      'text outside a question: a line starts a question with "? " or is a choice "- [ ] …"',
    )
  }
  finish(questions.at(-1))
  if (questions.length === 0) throw new QuizSyntaxError(firstLine - 1, 'the quiz block has no questions')
  return { questions: questions.map(({ line: _line, ...question }) => question) }
}

const linesOf = (markdown: string) => markdown.replace(/\r\n?/g, '\n').split('\n')

/**
 * The lesson's quiz, or null when it has none. Throws QuizSyntaxError naming the first problem's
 * line (1-based, counted in `markdown`).
 */
export function parseLessonQuiz(markdown: string): ParsedLesson {
  const found = findQuizBlock(linesOf(markdown))
  if (!found) return { quiz: null, block: null }
  return { quiz: parseQuestions(found.body, found.block.startLine + 1), block: found.block }
}

/**
 * The Markdown without its quiz block, for rendering: the block becomes the quiz form, never a
 * code block that would show which choices are right. A malformed block is cut out too (from its
 * opening fence to the end when unterminated), so nothing can reach a page from it.
 */
export function withoutQuizBlock(markdown: string): string {
  const lines = linesOf(markdown)
  let found: QuizBlock | null
  try {
    found = findQuizBlock(lines)?.block ?? null
  } catch (error) {
    if (!(error instanceof QuizSyntaxError)) throw error
    // Stored bodies were checked when saved; this is only a second guard. Drop every quiz-like line on.
    return lines.slice(0, error.line - 1).join('\n')
  }
  if (!found) return markdown
  return [...lines.slice(0, found.startLine - 1), ...lines.slice(found.endLine)].join('\n')
}

/** course.md's `pass_percent`: a whole number 1..100, or a message saying what is wrong. */
export function parsePassPercent(raw: string): number | string {
  const value = raw.trim()
  if (!/^\d{1,3}$/.test(value)) return 'pass_percent must be a whole number from 1 to 100'
  const percent = Number(value)
  if (percent < 1 || percent > 100) return 'pass_percent must be a whole number from 1 to 100'
  return percent
}
