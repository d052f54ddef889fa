import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  parseLessonQuiz,
  parsePassPercent,
  QuizSyntaxError,
  withoutQuizBlock,
} from '../../src/modules/quizzes/quiz-parser.ts'

const CONTRACT_EXAMPLE = [
  '# Status codes', // 1
  '', // 2
  'Some prose.', // 3
  '', // 4
  '```quiz', // 5
  '? What does status 429 mean?', // 6
  '- [ ] Forbidden', // 7
  '- [x] Too many requests', // 8
  '? Which formats are accepted as avatars?', // 9
  '- [x] PNG', // 10
  '- [x] JPEG', // 11
  '- [ ] BMP', // 12
  '```', // 13
  '', // 14
  'After the quiz.', // 15
].join('\n')

/** The line and problem of the quiz error in `markdown`; fails when it parses. */
function errorOf(markdown: string): { line: number; problem: string } {
  try {
    parseLessonQuiz(markdown)
  } catch (error) {
    if (error instanceof QuizSyntaxError) return { line: error.line, problem: error.problem }
    throw error
  }
  assert.fail('the quiz was accepted')
}

const quiz = (...lines: string[]) => ['Intro', '', '```quiz', ...lines, '```'].join('\n')

describe('quiz block parser (CONTRACT §12)', () => {
  test('the contract example: two questions, ids by position, multiple when several [x]', () => {
    const parsed = parseLessonQuiz(CONTRACT_EXAMPLE)
    assert.deepEqual(parsed.block, { startLine: 5, endLine: 13 })
    assert.deepEqual(parsed.quiz, {
      questions: [
        {
          id: 'q1',
          text: 'What does status 429 mean?',
          multiple: false,
          choices: [
            { id: 'q1c1', text: 'Forbidden', correct: false },
            { id: 'q1c2', text: 'Too many requests', correct: true },
          ],
        },
        {
          id: 'q2',
          text: 'Which formats are accepted as avatars?',
          multiple: true,
          choices: [
            { id: 'q2c1', text: 'PNG', correct: true },
            { id: 'q2c2', text: 'JPEG', correct: true },
            { id: 'q2c3', text: 'BMP', correct: false },
          ],
        },
      ],
    })
  })

  test('ids are stable: the same quiz parses to the same ids, whatever surrounds it', () => {
    const again = parseLessonQuiz(`A new first paragraph.\n\n${CONTRACT_EXAMPLE}\n\nMore text.`)
    assert.deepEqual(again.quiz, parseLessonQuiz(CONTRACT_EXAMPLE).quiz)
  })

  test('no quiz block: null; other code blocks, even ones showing a quiz, are not quizzes', () => {
    assert.deepEqual(parseLessonQuiz('# Title\n\n```js\nlet a = 1\n```\n'), { quiz: null, block: null })
    const shown = '````markdown\n```quiz\n? Q\n- [x] a\n```\n````\n'
    assert.deepEqual(parseLessonQuiz(shown), { quiz: null, block: null })
  })

  test('blank lines, CRLF line ends, [X], ~~~ fences and up to 3 spaces of indentation are accepted', () => {
    const parsed = parseLessonQuiz('~~~ quiz\r\n\r\n? Q one\r\n\r\n- [X] yes\r\n- [ ] no\r\n   ~~~\r\n')
    assert.equal(parsed.quiz?.questions[0]?.choices[0]?.correct, true)
    assert.deepEqual(parsed.block, { startLine: 1, endLine: 7 })
  })

  test('2 and 10 choices are accepted', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `- [${i === 0 ? 'x' : ' '}] choice ${i + 1}`)
    assert.equal(parseLessonQuiz(quiz('? Ten', ...ten)).quiz?.questions[0]?.choices.length, 10)
    assert.equal(parseLessonQuiz(quiz('? Two', '- [x] a', '- [ ] b')).quiz?.questions[0]?.choices.length, 2)
  })

  describe('malformed quizzes name the line', () => {
    test('text outside a question', () => {
      assert.deepEqual(errorOf(quiz('Just some words', '? Q', '- [x] a', '- [ ] b')), {
        line: 4,
        problem: 'text outside a question: a line starts a question with "? " or is a choice "- [ ] …"',
      })
      assert.equal(errorOf(quiz('? Q', '- [x] a', '- [ ] b', 'a trailing remark')).line, 7)
    })

    test('a choice before any question', () => {
      assert.equal(errorOf(quiz('- [x] a', '? Q', '- [ ] b')).line, 4)
    })

    test('a question with 1 choice, or 11: the question’s line', () => {
      assert.deepEqual(errorOf(quiz('? Q', '- [x] only')), {
        line: 4,
        problem: 'the question has 1 choice; it needs 2 to 10',
      })
      const eleven = Array.from({ length: 11 }, (_, i) => `- [${i === 0 ? 'x' : ' '}] c${i}`)
      assert.equal(errorOf(quiz('? Q1', '- [x] a', '- [ ] b', '? Q2', ...eleven)).line, 7)
      assert.match(errorOf(quiz('? Q1', '- [x] a', '- [ ] b', '? Q2', ...eleven)).problem, /11 choices/)
      assert.equal(errorOf(quiz('? Q1', '? Q2', '- [x] a', '- [ ] b')).line, 4, 'a question with no choices')
    })

    test('no [x]', () => {
      assert.deepEqual(errorOf(quiz('? Q1', '- [x] a', '- [ ] b', '? Q2', '- [ ] a', '- [ ] b')), {
        line: 7,
        problem: 'the question has no right choice (mark one with [x])',
      })
    })

    test('an unterminated fence: the opening line', () => {
      assert.deepEqual(errorOf('Intro\n\n```quiz\n? Q\n- [x] a\n- [ ] b\n'), {
        line: 3,
        problem: 'the quiz block has no closing fence',
      })
      // A ``` fence is not closed by ~~~ nor by a shorter run.
      assert.equal(errorOf('````quiz\n? Q\n- [x] a\n- [ ] b\n```\n~~~~\n').line, 1)
    })

    test('two quiz blocks: the second one’s line', () => {
      const two = `${quiz('? Q', '- [x] a', '- [ ] b')}\n\n${['```quiz', '? R', '- [x] a', '- [ ] b', '```'].join('\n')}`
      const error = errorOf(two)
      assert.equal(error.line, 9)
      assert.match(error.problem, /one quiz; another quiz block starts on line 3/)
    })

    test('empty question text', () => {
      assert.deepEqual(errorOf(quiz('?   ', '- [x] a', '- [ ] b')), {
        line: 4,
        problem: 'the question has no text after "?"',
      })
    })

    test('bad checkbox syntax', () => {
      for (const bad of ['- [] a', '- [y] a', '-[x] a', '* [x] a', '- [x]a', '- [ x] a']) {
        assert.deepEqual(
          errorOf(quiz('? Q', '- [x] fine', bad)),
          { line: 6, problem: 'a choice is written "- [ ] text" or "- [x] text"' },
          bad,
        )
      }
      assert.deepEqual(errorOf(quiz('? Q', '- [x] fine', '- [ ]  ')).line, 6, 'a choice without text')
    })

    test('an empty quiz block: the opening fence', () => {
      assert.deepEqual(errorOf('Intro\n```quiz\n\n```\n'), { line: 2, problem: 'the quiz block has no questions' })
    })

    test('a quiz fence inside a list or a quote is refused, not rendered with its answers', () => {
      assert.equal(errorOf('- item\n\n    ```quiz\n    ? Q\n    - [x] a\n    ```\n').line, 3)
      assert.equal(errorOf('> ```quiz\n> ? Q\n').line, 1)
    })
  })

  test('withoutQuizBlock cuts the block and keeps everything else', () => {
    const cut = withoutQuizBlock(CONTRACT_EXAMPLE)
    assert.ok(!cut.includes('[x]') && !cut.includes('```'))
    assert.ok(cut.includes('Some prose.') && cut.includes('After the quiz.'))
    assert.equal(withoutQuizBlock('No quiz here.\n'), 'No quiz here.\n')
    // A malformed block that slipped in is cut from its first line on: nothing of it is shown.
    assert.equal(withoutQuizBlock('Keep\n```quiz\n? Q\n- [x] secret\n'), 'Keep')
  })

  test('pass_percent: a whole number 1..100', () => {
    assert.equal(parsePassPercent('1'), 1)
    assert.equal(parsePassPercent(' 100 '), 100)
    for (const bad of ['0', '101', '80.5', '-5', 'eighty', '', '1e2']) {
      assert.equal(typeof parsePassPercent(bad), 'string', bad)
    }
  })
})
