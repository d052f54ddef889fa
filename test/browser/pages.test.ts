import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { importContent } from '../http/pages-support.ts'
import { createAgent } from '../support/agent.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  PASSWORD,
  screenshot,
  signedInContext,
  startLiveApp,
  STEP,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
  type LiveApp,
} from './harness.ts'

describe(
  'in a real browser: every main page, on a phone and a desktop (CONTRACT §6)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let session: BrowserSession
    let base: string

    before(async () => {
      live = await startLiveApp({
        routes: (app) => {
          // Only to show the 500 page: a page whose handler fails.
          app.get('/test/broken-page', { config: { access: 'public', html: true } }, async () => {
            throw new Error('the disk is on fire')
          })
        },
      })
      base = live.baseUrl
      await importContent(live.t)
      const api = createAgent(live.t.app)
      await api.post('/api/register', { json: { username: 'root', email: 'root@example.com', password: PASSWORD } })
      await live.t.database.db.updateTable('users').set({ role: 'admin' }).where('username', '=', 'root').execute()
      await api.post('/api/courses/web-fundamentals/lessons/1/complete')
      await api.post('/api/courses/web-fundamentals/lessons/2/complete')
      await api.put('/api/ebooks/http-in-brief/progress', { json: { chapter: 2, position: 0.3 } })
      session = await launchChromium()
    })

    after(async () => {
      await session?.close()
      await live?.t.close()
    })

    for (const width of [390, 1280]) {
      test(
        `at ${width}px: screenshots of the main pages, each fitting the screen, no console errors, no CSP violations`,
        STEP,
        async () => {
          const { page, watch, context } = await signedInContext(session, live, 'root', width)
          const visit = async (path: string, name: string, status = 200) => {
            const res = await page.goto(`${base}${path}`)
            assert.equal(res?.status(), status, path)
            assert.equal(await page.getAttribute('html', 'lang'), 'en')
            // Nothing wider than the screen: the page reads on a phone without sideways scrolling.
            assert.ok(
              await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
              `${path} fits ${width}px`,
            )
            await screenshot(page, `${name}-${width}`)
          }
          await visit('/me', 'dashboard')
          await visit('/courses/web-fundamentals', 'course')
          await visit('/courses/web-fundamentals/lessons/2', 'lesson')
          await visit('/ebooks/http-in-brief', 'ebook-reader')
          await visit('/profile', 'profile')
          await visit('/admin', 'admin')
          await visit('/admin/courses/web-fundamentals', 'admin-course-editor')
          await visit('/no/such/page', 'not-found', 404)
          await visit('/test/broken-page', 'server-error', 500)
          assert.match((await page.textContent('.request-id')) ?? '', /^[0-9a-f-]{36}$/)
          await context.clearCookies() // signed out: a visitor's pages
          await visit('/', 'catalogue')
          await visit('/login', 'login')
          await visit('/register', 'register')
          assert.deepEqual(watch.problems(), [])
          await context.close()
        },
      )
    }

    test(
      'the keyboard: the skip link comes first, its focus is visible, and it leads to the main content',
      STEP,
      async () => {
        const { page, watch, context } = await openContext(session)
        await page.goto(`${base}/`)
        await page.keyboard.press('Tab')
        assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to main content')
        const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
        assert.notEqual(outline, 'none', 'the focus is visible')
        await page.keyboard.press('Enter')
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'main')
        // Headings in order: one h1, and no level skipped on the way down.
        const levels = await page.$$eval('h1, h2, h3, h4, h5, h6', (hs) => hs.map((h) => Number(h.tagName[1])))
        assert.equal(levels.filter((level) => level === 1).length, 1)
        levels.forEach((level, i) =>
          assert.ok(i === 0 || level <= levels[i - 1]! + 1, `heading levels ${levels.join(',')}`),
        )
        assert.deepEqual(watch.problems(), [])
        await context.close()
      },
    )
  },
)
