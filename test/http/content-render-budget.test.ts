import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, signedIn, type SignedInUser } from '../support/factories.ts'
import { NESTING_BOMB, ORDINARY_LESSON } from '../fixtures/markdown/hostile.ts'
import { createPageClient } from './pages-support.ts'

const TOO_COMPLEX = { error: 'Content too complex to render' }
/** A behaviour bound, not a benchmark: the synchronous render kept /healthz waiting for seconds. */
const HEALTHZ_BOUND_MS = 100

/**
 * Asks a real socket for /healthz, one request after another, until `work` settles; the
 * latencies of those answered meanwhile. The machine running the tests may be busy: the median
 * says whether the event loop was free, one slow answer says little.
 */
async function healthzWhile<T>(url: string, work: Promise<T>): Promise<{ result: T; latenciesMs: number[] }> {
  let settled = false
  const done = work.finally(() => (settled = true))
  const latenciesMs: number[] = []
  while (!settled) {
    const started = performance.now()
    const res = await fetch(`${url}/healthz`)
    assert.equal(res.status, 200)
    await res.arrayBuffer()
    latenciesMs.push(performance.now() - started)
  }
  return { result: await done, latenciesMs }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

describe('a body too complex to render is refused, and the server keeps answering meanwhile (docs/adr/0016)', () => {
  let t: TestApp
  let url: string
  let instructor: SignedInUser
  let learner: SignedInUser

  before(async () => {
    t = await buildTestApp()
    url = await t.app.listen({ port: 0, host: '127.0.0.1' })
    instructor = await signedIn(t, 'instructor')
    learner = await signedIn(t, 'learner')
    await createWork(t.database.db, 'course', {
      slug: 'forms',
      parts: [{ title: 'Forms', body: ORDINARY_LESSON }],
      owners: [instructor.id],
    })
  })
  after(() => t.close())

  test('POST of a nesting bomb: 400 "Content too complex to render", nothing stored, /healthz answered within 100 ms meanwhile', async () => {
    const posting = instructor.agent.post('/api/courses/forms/lessons', { json: { title: 'Bomb', body: NESTING_BOMB } })
    const { result: res, latenciesMs } = await healthzWhile(url, posting)

    assert.ok(latenciesMs.length >= 3, `only ${latenciesMs.length} /healthz answered while the render ran`)
    assert.ok(median(latenciesMs) < HEALTHZ_BOUND_MS, `/healthz took ${latenciesMs.map(Math.round).join(', ')} ms`)
    assert.equal(res.statusCode, 400)
    assert.deepEqual({ error: res.json().error }, TOO_COMPLEX)

    const course = (await instructor.agent.get('/api/courses/forms')).json().course
    assert.deepEqual(
      course.lessons.map((lesson: { title: string }) => lesson.title),
      ['Forms'],
    )
    const [line] = t.events('content_rejected')
    assert.equal(line?.level, 'WARNING')
    assert.equal(line?.user_id, instructor.id)
    assert.deepEqual(line?.extra, { reason: 'time', budget_ms: 2000, chars: NESTING_BOMB.length })
    assert.ok(!JSON.stringify(t.logs()).includes('<b><b><b>'), 'the body never reaches a log line')
  })

  test('PATCH with a body too complex: 400, the lesson keeps its body', async () => {
    const res = await instructor.agent.patch('/api/courses/forms/lessons/1', { json: { body: NESTING_BOMB } })
    assert.equal(res.statusCode, 400)
    assert.deepEqual({ error: res.json().error }, TOO_COMPLEX)
    const source = (await instructor.agent.get('/api/courses/forms/lessons/1/source')).json().lesson
    assert.equal(source.body_markdown, ORDINARY_LESSON)
  })

  test('the editor page refuses it too: the form again with a 400, nothing stored', async () => {
    const page = createPageClient(t.app)
    page.agent.setCookie('lectern_session', instructor.agent.sessionCookie()!)
    assert.equal((await page.open('/admin/courses/forms')).statusCode, 200)
    const res = await page.submit('/admin/courses/forms/parts', { title: 'Bomb', body: NESTING_BOMB })
    assert.equal(res.statusCode, 400)
    assert.match(res.body, /Content too complex to render/)
    const course = (await instructor.agent.get('/api/courses/forms')).json().course
    assert.equal(course.lessons.length, 1)
  })

  test('a body stored before the budget existed: readers get a 400 (JSON and page), never a stalled server', async () => {
    await createWork(t.database.db, 'course', {
      slug: 'stored-bomb',
      parts: [{ title: 'Old', body: `${NESTING_BOMB}\n` }],
    })
    const reading = learner.agent.get('/api/courses/stored-bomb/lessons/1')
    const { result: res, latenciesMs } = await healthzWhile(url, reading)
    assert.equal(res.statusCode, 400)
    assert.deepEqual({ error: res.json().error }, TOO_COMPLEX)
    assert.ok(median(latenciesMs) < HEALTHZ_BOUND_MS, `/healthz took ${latenciesMs.map(Math.round).join(', ')} ms`)

    const page = await learner.agent.get('/courses/stored-bomb/lessons/1', { headers: { accept: 'text/html' } })
    assert.equal(page.statusCode, 400)
    assert.match(String(page.headers['content-type']), /text\/html/)
    assert.match(page.body, /Content too complex to render/)
  })

  test('an ordinary lesson still renders, through the same worker, after the refusals', async () => {
    const res = await learner.agent.get('/api/courses/forms/lessons/1')
    assert.equal(res.statusCode, 200)
    assert.match(res.json().lesson.body_html, /<h2>Forms that work<\/h2>/)
  })
})
