/**
 * Quizzes over HTTP (CONTRACT §12), on SQLite and PostgreSQL: the quiz a lesson shows (never its
 * answers), grading, the attempts kept, the pass that completes the lesson, the 409 without one,
 * the editor's 400 for a malformed quiz, and the per-learner, per-lesson limit on attempts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { QUIZ_LESSON } from '../support/quizzes.ts'
import { quizBestPercents } from '../../src/modules/quizzes/quiz.repository.ts'

const RIGHT = { q1: ['q1c2'], q2: ['q2c1', 'q2c2'] }
const QUIZ_LIMIT = 8

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`quizzes over HTTP on ${kind} (CONTRACT §12)`, () => {
    let t: TestApp
    let instructor: SignedInUser
    let serial = 0

    before(async () => {
      t = await buildTestApp({
        env: { ...MANY_USERS_ENV, RATE_LIMIT_QUIZ: `${QUIZ_LIMIT}/1h` },
        database: kind,
        postgresUrl,
      })
      instructor = await signedIn(t, 'instructor')
    })
    after(() => t.close())

    /** A published course whose lessons are written through the API (so their quizzes are stored). */
    async function course(lessons: Array<{ title: string; body: string }>): Promise<string> {
      const slug = `quiz-course-${++serial}`
      const created = await instructor.agent.post('/api/courses', {
        json: { slug, title: `Course ${serial}`, published: true },
      })
      assert.equal(created.statusCode, 201, created.body)
      for (const lesson of lessons) {
        const res = await instructor.agent.post(`/api/courses/${slug}/lessons`, { json: lesson })
        assert.equal(res.statusCode, 201, res.body)
      }
      return slug
    }
    const quizCourse = () =>
      course([
        { title: 'Intro', body: 'Welcome.' },
        { title: 'Status codes', body: QUIZ_LESSON },
      ])
    const submit = (agent: Agent, slug: string, answers: unknown, n = 2) =>
      agent.post(`/api/courses/${slug}/lessons/${n}/quiz`, { json: { answers } })

    test('a lesson carries its quiz: ids, texts and "multiple", never which choices are right', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      for (const agent of [learner.agent, createAgent(t)]) {
        const res = await agent.get(`/api/courses/${slug}/lessons/2`)
        assert.equal(res.statusCode, 200)
        const { lesson } = res.json()
        assert.deepEqual(lesson.quiz, {
          questions: [
            {
              id: 'q1',
              text: 'What does status 429 mean?',
              multiple: false,
              choices: [
                { id: 'q1c1', text: 'Forbidden' },
                { id: 'q1c2', text: 'Too many requests' },
              ],
            },
            {
              id: 'q2',
              text: 'Which formats are accepted as avatars?',
              multiple: true,
              choices: [
                { id: 'q2c1', text: 'PNG' },
                { id: 'q2c2', text: 'JPEG' },
                { id: 'q2c3', text: 'BMP' },
              ],
            },
          ],
          pass_percent: 80,
        })
        // The block is the quiz, not a code block: its source is nowhere in the body.
        assert.ok(!lesson.body_html.includes('Too many requests'), lesson.body_html)
        assert.ok(lesson.body_html.includes('Read on.'))
        assert.ok(!/\[x\]|"correct"|"right"/i.test(res.body), 'no answer marker in the response')
      }
      const plain = await learner.agent.get(`/api/courses/${slug}/lessons/1`)
      assert.equal(plain.json().lesson.quiz, null)
    })

    test('the lesson page shows the quiz form; right and wrong choices are marked up alike', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      const page = await learner.agent.get(`/courses/${slug}/lessons/2`)
      assert.equal(page.statusCode, 200)
      assert.ok(!page.body.includes('[x]') && !page.body.includes('```'))
      assert.match(
        page.body,
        /<form method="post" action="\/courses\/[^"]+\/lessons\/2\/quiz"[^>]*>\s*<input type="hidden" name="csrf_token"/,
      )
      assert.ok(!page.body.includes('Mark as complete'), 'a quiz lesson is completed by its quiz')
      const inputs = [...page.body.matchAll(/<input type="(radio|checkbox)"[^>]*>/g)].map((m) => m[0])
      assert.equal(inputs.length, 5)
      assert.equal(inputs.filter((input) => input.includes('type="radio"')).length, 2)
      // With its own ids taken out, each choice's tag is the same as every other of its question's.
      const shape = (input: string) => input.replace(/q\dc\d/g, 'ID')
      assert.equal(new Set(inputs.slice(0, 2).map(shape)).size, 1)
      assert.equal(new Set(inputs.slice(2).map(shape)).size, 1)
      const labels = [...page.body.matchAll(/<label for="quiz-(q\dc\d)">([^<]*)<\/label>/g)].map((m) => m[0])
      assert.equal(new Set(labels.map((label) => label.replace(/q\dc\d/, 'ID').replace(/>[^<]*</, '><'))).size, 1)
    })

    test('grading: a single choice right or wrong; a multiple choice right only with exactly its choices', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      const cases: Array<[Record<string, string[]>, Record<string, boolean>, number]> = [
        [RIGHT, { q1: true, q2: true }, 100],
        [{ q1: ['q1c1'], q2: ['q2c1', 'q2c2'] }, { q1: false, q2: true }, 50],
        [{ q1: ['q1c2'], q2: ['q2c1'] }, { q1: true, q2: false }, 50],
        [{ q1: ['q1c2'], q2: ['q2c1', 'q2c2', 'q2c3'] }, { q1: true, q2: false }, 50],
        [{ q1: ['q1c1'], q2: ['q2c3'] }, { q1: false, q2: false }, 0],
      ]
      for (const [answers, correct, percent] of cases) {
        const res = await submit(learner.agent, slug, answers)
        assert.equal(res.statusCode, 200, res.body)
        const score = Object.values(correct).filter(Boolean).length
        assert.deepEqual(res.json(), { score, total: 2, percent, passed: percent >= 80, correct })
      }
    })

    test('answers that do not fit the quiz are 400 and count as no attempt', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      const refused: Array<[unknown, RegExp]> = [
        [{ q1: ['q1c2'] }, /q2 is missing/],
        [{ ...RIGHT, q3: ['q3c1'] }, /Unknown question id: q3/],
        [{ q1: ['q1c9'], q2: ['q2c1'] }, /Unknown choice id for q1: q1c9/],
        [{ q1: ['q2c1'], q2: ['q2c2'] }, /Unknown choice id for q1: q2c1/],
        [{ q1: ['q1c2'], q2: ['q2c1', 'q2c1'] }, /given twice/],
        [{ q1: ['q1c1', 'q1c2'], q2: ['q2c1'] }, /q1 takes one choice/],
        [{ q1: [], q2: ['q2c1'] }, /q1 has no choice/],
        [{ q1: 'q1c2', q2: ['q2c1'] }, /must be array/],
      ]
      for (const [answers, message] of refused) {
        const res = await submit(learner.agent, slug, answers)
        assert.equal(res.statusCode, 400, JSON.stringify(answers))
        assert.match(res.json().error, message)
      }
      const extra = await learner.agent.post(`/api/courses/${slug}/lessons/2/quiz`, {
        json: { answers: RIGHT, score: 2 },
      })
      assert.equal(extra.statusCode, 400, 'an unknown body field is refused')
      const attempts = await learner.agent.get(`/api/courses/${slug}/lessons/2/quiz/attempts`)
      assert.deepEqual(attempts.json(), { attempts: [] })
      // Still all attempts left: a refused request was given back.
      for (let i = 0; i < QUIZ_LIMIT; i++) assert.equal((await submit(learner.agent, slug, RIGHT)).statusCode, 200)
    })

    test('signed out: 401 before the body is looked at; a lesson without a quiz: 404; a draft: 404', async () => {
      const slug = await quizCourse()
      const anonymous = createAgent(t)
      assert.equal((await submit(anonymous, slug, RIGHT)).statusCode, 401)
      assert.equal((await submit(anonymous, slug, 'not even an object')).statusCode, 401)
      assert.equal((await anonymous.get(`/api/courses/${slug}/lessons/2/quiz/attempts`)).statusCode, 401)
      const learner = await signedIn(t)
      const none = await submit(learner.agent, slug, {}, 1)
      assert.equal(none.statusCode, 404)
      assert.equal(none.json().error, 'This lesson has no quiz')
      assert.equal(
        (await instructor.agent.patch(`/api/courses/${slug}`, { json: { published: false } })).statusCode,
        200,
      )
      assert.equal((await submit(learner.agent, slug, RIGHT)).statusCode, 404)
    })

    test('gating: completing a quiz lesson without a pass is 409; a pass completes it', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      const early = await learner.agent.post(`/api/courses/${slug}/lessons/2/complete`)
      assert.equal(early.statusCode, 409)
      assert.equal(early.json().error, 'Pass the quiz to complete this lesson')
      assert.equal((await submit(learner.agent, slug, { q1: ['q1c1'], q2: ['q2c3'] })).json().passed, false)
      assert.equal((await learner.agent.post(`/api/courses/${slug}/lessons/2/complete`)).statusCode, 409)
      let course = (await learner.agent.get(`/api/courses/${slug}`)).json().course
      assert.equal(course.enrolled, true, 'an attempt enrols, as completing does')
      assert.equal(course.lessons[1].completed, false)

      assert.equal((await submit(learner.agent, slug, RIGHT)).json().passed, true)
      course = (await learner.agent.get(`/api/courses/${slug}`)).json().course
      assert.equal(course.lessons[1].completed, true)
      assert.deepEqual(course.progress, { completed: 1, total: 2, percent: 50 })
      const again = await learner.agent.post(`/api/courses/${slug}/lessons/2/complete`)
      assert.equal(again.statusCode, 200, 'after a pass, completing is allowed (and changes nothing)')
      // A later failed attempt does not undo the completion.
      await submit(learner.agent, slug, { q1: ['q1c1'], q2: ['q2c3'] })
      assert.equal((await learner.agent.get(`/api/courses/${slug}/lessons/2`)).json().lesson.completed, true)
    })

    test('every attempt is kept; GET …/quiz/attempts shows the caller’s own only', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      const other = await signedIn(t)
      await submit(learner.agent, slug, { q1: ['q1c1'], q2: ['q2c1', 'q2c2'] })
      t.clock.advance(60_000)
      await submit(learner.agent, slug, RIGHT)
      await submit(other.agent, slug, RIGHT)
      const res = await learner.agent.get(`/api/courses/${slug}/lessons/2/quiz/attempts`)
      assert.equal(res.statusCode, 200)
      const { attempts } = res.json()
      assert.equal(attempts.length, 2)
      assert.deepEqual(
        attempts.map((a: { percent: number; passed: boolean }) => [a.percent, a.passed]),
        [
          [50, false],
          [100, true],
        ],
      )
      assert.deepEqual(attempts[0].answers, { q1: ['q1c1'], q2: ['q2c1', 'q2c2'] })
      assert.ok(Date.parse(attempts[1].created_at) - Date.parse(attempts[0].created_at) === 60_000)
    })

    test('pass_percent: 1 of 2 right passes at 50, not at 51', async () => {
      const slug = await quizCourse()
      const { id } = await t.database.db
        .selectFrom('courses')
        .select('id')
        .where('slug', '=', slug)
        .executeTakeFirstOrThrow()
      await t.database.db.insertInto('course_settings').values({ course_id: id, pass_percent: 50 }).execute()
      const learner = await signedIn(t)
      assert.equal((await learner.agent.get(`/api/courses/${slug}/lessons/2`)).json().lesson.quiz.pass_percent, 50)
      assert.equal((await submit(learner.agent, slug, { q1: ['q1c1'], q2: RIGHT.q2 })).json().passed, true)
      await t.database.db.updateTable('course_settings').set({ pass_percent: 51 }).where('course_id', '=', id).execute()
      const other = await signedIn(t)
      assert.equal((await submit(other.agent, slug, { q1: ['q1c1'], q2: RIGHT.q2 })).json().passed, false)
    })

    test(`attempts are limited per learner and lesson (RATE_LIMIT_QUIZ ${QUIZ_LIMIT}/1h): 429, then again after the window`, async () => {
      const slug = await course([
        { title: 'One', body: QUIZ_LESSON },
        { title: 'Two', body: QUIZ_LESSON },
      ])
      const learner = await signedIn(t)
      const other = await signedIn(t)
      for (let i = 0; i < QUIZ_LIMIT; i++) assert.equal((await submit(learner.agent, slug, RIGHT, 1)).statusCode, 200)
      const refused = await submit(learner.agent, slug, RIGHT, 1)
      assert.equal(refused.statusCode, 429)
      assert.ok(Number(refused.headers['retry-after']) > 0)
      assert.equal(
        t.events('rate_limited').at(-1)?.extra && (t.events('rate_limited').at(-1)!.extra as { policy: string }).policy,
        'quiz',
      )
      assert.equal((await submit(learner.agent, slug, RIGHT, 2)).statusCode, 200, 'another lesson has its own count')
      assert.equal((await submit(other.agent, slug, RIGHT, 1)).statusCode, 200, 'another learner has their own')
      t.clock.advance(60 * 60 * 1000 + 1000)
      assert.equal((await submit(learner.agent, slug, RIGHT, 1)).statusCode, 200)
    })

    test('25 attempts in parallel: exactly the limit are graded and kept, the rest are 429', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      await learner.agent.csrfToken()
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          submit(learner.agent, slug, i % 2 ? RIGHT : { q1: ['q1c1'], q2: ['q2c3'] }),
        ),
      )
      const codes = results.map((res) => res.statusCode)
      assert.equal(codes.filter((code) => code === 200).length, QUIZ_LIMIT)
      assert.equal(codes.filter((code) => code === 429).length, 25 - QUIZ_LIMIT)
      const attempts = (await learner.agent.get(`/api/courses/${slug}/lessons/2/quiz/attempts`)).json().attempts
      assert.equal(attempts.length, QUIZ_LIMIT)
    })

    test('quizBestPercents: each learner’s best percent over the course’s quizzes (the learners report)', async () => {
      const slug = await course([
        { title: 'One', body: QUIZ_LESSON },
        { title: 'Two', body: QUIZ_LESSON },
      ])
      const [ada, bob] = [await signedIn(t), await signedIn(t)]
      await signedIn(t) // a learner without an attempt is absent
      await submit(ada.agent, slug, { q1: ['q1c1'], q2: ['q2c3'] }, 1)
      await submit(ada.agent, slug, { q1: ['q1c2'], q2: ['q2c3'] }, 2)
      await submit(bob.agent, slug, RIGHT, 1)
      await submit(bob.agent, slug, { q1: ['q1c1'], q2: ['q2c3'] }, 2)
      const { id } = await t.database.db
        .selectFrom('courses')
        .select('id')
        .where('slug', '=', slug)
        .executeTakeFirstOrThrow()
      const best = await quizBestPercents(t.database.db)(id)
      assert.deepEqual(
        [...best.entries()].sort((a, b) => a[0] - b[0]),
        [
          [ada.id, 50],
          [bob.id, 100],
        ],
      )
      assert.deepEqual(await quizBestPercents(t.database.db)(id + 1000), new Map())
    })

    describe('the editor refuses a malformed quiz with 400 naming the line', () => {
      test('adding and changing a lesson through the API', async () => {
        const slug = await course([{ title: 'One', body: 'Plain.' }])
        const bad = 'Intro\n\n```quiz\n? Q\n- [x] only one\n```\n'
        const added = await instructor.agent.post(`/api/courses/${slug}/lessons`, { json: { title: 'Bad', body: bad } })
        assert.equal(added.statusCode, 400)
        assert.equal(
          added.json().error,
          'Quiz error on line 4 of the lesson body: the question has 1 choice; it needs 2 to 10',
        )
        const changed = await instructor.agent.patch(`/api/courses/${slug}/lessons/1`, {
          json: { body: 'Intro\n```quiz\n? Q\n- [x] a\n- [ ] b\n' },
        })
        assert.equal(changed.statusCode, 400)
        assert.match(changed.json().error, /line 2 .*no closing fence/)
        const lesson = (await instructor.agent.get(`/api/courses/${slug}/lessons/1/source`)).json().lesson
        assert.equal(lesson.body_markdown, 'Plain.', 'nothing was written')
      })

      test('a saved body replaces the quiz; removing the block removes the quiz', async () => {
        const slug = await course([{ title: 'One', body: 'Plain.' }])
        const learner = await signedIn(t)
        assert.equal((await learner.agent.get(`/api/courses/${slug}/lessons/1`)).json().lesson.quiz, null)
        await instructor.agent.patch(`/api/courses/${slug}/lessons/1`, { json: { body: QUIZ_LESSON } })
        assert.equal((await learner.agent.get(`/api/courses/${slug}/lessons/1`)).json().lesson.quiz.questions.length, 2)
        await instructor.agent.patch(`/api/courses/${slug}/lessons/1`, { json: { title: 'Renamed' } })
        assert.equal((await learner.agent.get(`/api/courses/${slug}/lessons/1`)).json().lesson.quiz.questions.length, 2)
        await instructor.agent.patch(`/api/courses/${slug}/lessons/1`, { json: { body: 'No quiz now.' } })
        assert.equal((await learner.agent.get(`/api/courses/${slug}/lessons/1`)).json().lesson.quiz, null)
        assert.equal((await learner.agent.post(`/api/courses/${slug}/lessons/1/complete`)).statusCode, 200)
      })

      test('the lesson edit page shows the problem with its line, and keeps what was typed', async () => {
        const slug = await course([{ title: 'One', body: 'Plain.' }])
        const body = 'Intro\n```quiz\n? \n- [x] a\n- [ ] b\n```\n'
        const res = await instructor.agent.post(`/admin/courses/${slug}/parts/1`, {
          form: { title: 'One', body, position: '' },
          csrfIn: 'field',
        })
        assert.equal(res.statusCode, 400)
        assert.ok(res.body.includes('Quiz error on line 3 of the lesson body: the question has no text after'))
        assert.ok(res.body.includes('A quiz is a ```quiz block: a line &quot;? question&quot;'), 'the field says how')
      })
    })

    test('the lesson page: submit wrong → the result and which questions to look at, then pass → completed', async () => {
      const slug = await quizCourse()
      const learner = await signedIn(t)
      const wrong = await learner.agent.post(`/courses/${slug}/lessons/2/quiz`, {
        payload: `q1=q1c1&q2=q2c1&q2=q2c2&csrf_token=${encodeURIComponent(await learner.agent.csrfToken())}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        csrf: false,
      })
      assert.equal(wrong.statusCode, 303)
      let page = await learner.agent.get(wrong.headers.location as string)
      assert.match(page.body, /Not passed yet/)
      assert.match(page.body, /1 of 2 right \(50%\)/)
      assert.match(page.body, /Question 1: What does status 429 mean\?/)
      assert.ok(!page.body.includes('Question 2:'))

      const unanswered = await learner.agent.post(`/courses/${slug}/lessons/2/quiz`, {
        form: { q1: 'q1c2' },
        csrfIn: 'field',
      })
      assert.equal(unanswered.statusCode, 400)
      assert.match(unanswered.body, /Please answer every question/)
      assert.match(unanswered.body, /value="q1c2" checked/)

      const right = await learner.agent.post(`/courses/${slug}/lessons/2/quiz`, {
        payload: `csrf_token=${encodeURIComponent(await learner.agent.csrfToken())}&q1=q1c2&q2=q2c1&q2=q2c2`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        csrf: false,
      })
      assert.equal(right.statusCode, 303)
      page = await learner.agent.get(right.headers.location as string)
      assert.match(page.body, /You passed the quiz/)
      assert.match(page.body, /You have completed this lesson/)
    })
  })
}
