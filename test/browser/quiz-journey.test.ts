import assert from 'node:assert/strict'
import axe from 'axe-core'
import type { Page } from 'playwright-core'
import { after, before, describe, test } from 'node:test'
import { demoFolder, importContent } from '../http/pages-support.ts'
import { createAgent } from '../support/agent.ts'
import {
  chromiumMissing,
  launchChromium,
  PASSWORD,
  screenshot,
  signedInContext,
  STEP,
  startLiveApp,
  submit,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
  type LiveApp,
  type OpenedPage,
} from './harness.ts'

const COURSE = '/courses/web-fundamentals'

/** The WCAG 2 A and AA rules axe-core finds broken on the page, as "rule: target" lines. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  // Evaluated by the browser's debugging protocol, which the page's CSP does not govern.
  await page.evaluate(axe.source)
  return page.evaluate(async () => {
    const { violations } = await (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa'],
    })
    return violations.flatMap((v) => v.nodes.map((node) => `${v.id}: ${node.target.join(' ')}`))
  })
}
const QUIZ_LESSON = 6

describe(
  'in a real browser: a learner takes the demo quiz, fails, passes, and gets the certificate (CONTRACT §12)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let session: BrowserSession
    let learner: OpenedPage
    let base: string

    before(async () => {
      live = await startLiveApp()
      base = live.baseUrl
      await importContent(live.t, [demoFolder('web-fundamentals')])
      const api = createAgent(live.t.app)
      const res = await api.post('/api/register', {
        json: { username: 'grace', email: 'grace@example.com', password: PASSWORD },
      })
      assert.equal(res.statusCode, 201)
      await api.patch('/api/profile', { json: { display_name: 'Grace Hopper' } })
      // Every other lesson is done already: the quiz is what stands between Grace and the certificate.
      for (const n of [1, 2, 3, 4, 5, 7]) {
        assert.equal((await api.post(`/api/courses/web-fundamentals/lessons/${n}/complete`)).statusCode, 200)
      }
      session = await launchChromium()
      learner = await signedInContext(session, live, 'grace')
    })

    after(async () => {
      await session?.close()
      await live?.t.close()
    })

    test('the quiz lesson shows a form of radio buttons and checkboxes, and no answers', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}${COURSE}/lessons/${QUIZ_LESSON}`)
      assert.equal(await page.locator('.quiz fieldset').count(), 5)
      assert.equal(await page.locator('.quiz input[type="checkbox"]').count(), 4)
      const html = await page.content()
      assert.ok(!html.includes('[x]') && !html.includes('```quiz'))
      assert.equal(await page.locator('form[action$="/complete"]').count(), 0, 'no "Mark as complete" on a quiz lesson')
      assert.match((await page.textContent('[data-completion]')) ?? '', /Pass the quiz above to complete this lesson/)
      await screenshot(page, 'quiz-lesson-1280')
      assert.deepEqual(await accessibilityViolations(page), [])
      assert.deepEqual(watch.problems(), [])
    })

    test('a first attempt fails: the result and the questions to look at again', STEP, async () => {
      const { page, watch } = learner
      await page.check('#quiz-q1c1') // wrong
      await page.check('#quiz-q2c1') // right, but not all of them
      await page.check('#quiz-q3c2')
      await page.check('#quiz-q4c2')
      await page.check('#quiz-q5c1') // wrong
      await submit(page, '.quiz-form button[type="submit"]')
      assert.match((await page.textContent('.notice')) ?? '', /Not passed yet/)
      const result = (await page.textContent('[data-quiz-result]')) ?? ''
      assert.match(result, /2 of 5 right \(40%\)/)
      assert.deepEqual(
        (await page.locator('.quiz-wrong li').allTextContents()).map((text) => text.slice(0, 11)),
        ['Question 1:', 'Question 2:', 'Question 5:'],
      )
      assert.equal(await page.locator('.badge--done').count(), 0)
      await screenshot(page, 'quiz-failed-1280')
      assert.deepEqual(await accessibilityViolations(page), [])
      assert.deepEqual(watch.problems(), [])
    })

    test('a retry passes: the lesson and with it the course are complete', STEP, async () => {
      const { page, watch } = learner
      await page.check('#quiz-q1c2')
      for (const id of ['q2c1', 'q2c2', 'q2c3']) await page.check(`#quiz-${id}`)
      await page.check('#quiz-q3c2')
      await page.check('#quiz-q4c2')
      await page.check('#quiz-q5c2')
      await submit(page, '.quiz-form button[type="submit"]')
      assert.match((await page.textContent('.notice')) ?? '', /You completed the course!/)
      assert.match((await page.textContent('[data-quiz-result]')) ?? '', /Passed.*5 of 5 right \(100%\)/s)
      assert.match((await page.textContent('[data-completion]')) ?? '', /You have completed this lesson/)
      await screenshot(page, 'quiz-passed-1280')
      assert.deepEqual(watch.problems(), [])
    })

    test('"My learning" links the certificate; its public page and PDF verify it', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/me`)
      assert.deepEqual(await accessibilityViolations(page), [])
      const link = page.locator('.certificate-list a').first()
      assert.equal(await link.textContent(), 'Web fundamentals')
      await Promise.all([page.waitForNavigation(), link.click()])
      assert.match(new URL(page.url()).pathname, /^\/certificates\/[A-Za-z0-9_-]{24}$/)
      assert.equal(await page.textContent('.certificate-name'), 'Grace Hopper')
      assert.match((await page.textContent('.certificate')) ?? '', /Web fundamentals/)
      assert.equal(await page.getAttribute('meta[name="robots"]', 'content'), 'noindex, nofollow')
      await screenshot(page, 'certificate-1280')
      assert.deepEqual(await accessibilityViolations(page), [])
      const pdf = await page.request.get(`${page.url()}.pdf`)
      assert.equal(pdf.status(), 200)
      assert.equal(pdf.headers()['content-type'], 'application/pdf')
      assert.equal((await pdf.body()).subarray(0, 4).toString('latin1'), '%PDF')
      assert.deepEqual(watch.problems(), [])
    })
  },
)
