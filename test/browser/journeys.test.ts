import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { demoFolder, importContent } from '../http/pages-support.ts'
import { createAgent } from '../support/agent.ts'
import { makePng, makePngHeaderClaiming } from '../support/images.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  PASSWORD,
  screenshot,
  signedInContext,
  startLiveApp,
  STEP,
  submit,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
  type LiveApp,
  type OpenedPage,
  watchPage,
} from './harness.ts'

const MAX_UPLOAD_BYTES = 256 * 1024
const MINUTE_MS = 60_000
const CSRF_TTL_MS = 60 * MINUTE_MS

/** An ebook long enough to scroll through on any screen, as a folder `lectern import` reads. */
function writeLongEbook(dir: string): string {
  const folder = join(dir, 'long-read')
  mkdirSync(folder)
  writeFileSync(
    join(folder, 'ebook.md'),
    '---\ntitle: A long read\nslug: long-read\ndescription: Two long chapters.\n---\n',
  )
  for (const chapter of [1, 2]) {
    const paragraphs = Array.from(
      { length: 60 },
      (_, i) =>
        `Paragraph ${i + 1} of part ${chapter}. Reading is a slow pleasure, and a good reader keeps their ` +
        'place: the page remembers where you stopped, so the next visit starts there and not at the top.',
    )
    writeFileSync(join(folder, `0${chapter}-part-${chapter}.md`), `# Part ${chapter}\n\n${paragraphs.join('\n\n')}\n`)
  }
  return folder
}

async function signIn(page: Page, baseUrl: string, username: string, password = PASSWORD) {
  await page.goto(`${baseUrl}/login`)
  await page.fill('#field-username', username)
  await page.fill('#field-password', password)
  await submit(page, 'main form button[type="submit"]')
}

/** Where the window is scrolled to when the reader is `fraction` of the way through the chapter. */
function scrollYAt(page: Page, fraction: number): Promise<number> {
  return page.evaluate((f) => {
    const article = document.querySelector<HTMLElement>('article[data-reader]')!
    const top = article.getBoundingClientRect().top + window.scrollY
    return Math.round(top + f * (article.offsetHeight - window.innerHeight))
  }, fraction)
}

describe(
  'in a real browser: a learner, an instructor and an admin do everything (CONTRACT §6)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let session: BrowserSession
    let contentDir: string
    let learner: OpenedPage
    let base: string

    before(async () => {
      contentDir = mkdtempSync(join(tmpdir(), 'lectern-content-'))
      live = await startLiveApp({
        env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
      })
      base = live.baseUrl
      await importContent(live.t, [
        demoFolder('web-fundamentals'),
        demoFolder('http-in-brief'),
        writeLongEbook(contentDir),
      ])
      const api = createAgent(live.t.app)
      await api.post('/api/register', { json: { username: 'root', email: 'root@example.com', password: PASSWORD } })
      await live.t.database.db.updateTable('users').set({ role: 'admin' }).where('username', '=', 'root').execute()
      session = await launchChromium()
      learner = await openContext(session)
    })

    after(async () => {
      await session?.close()
      await live?.t.close()
      rmSync(contentDir, { recursive: true, force: true })
    })

    test('a learner registers, signs out and signs in again', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/`)
      await page.click('text=Create a free account')
      await page.waitForURL(`${base}/register`)
      // A problem first: the message sits next to its field and the summary takes the focus.
      await page.fill('#field-username', 'ada')
      await page.fill('#field-email', 'not-an-email')
      await page.fill('#field-password', PASSWORD)
      await submit(page, 'main form button[type="submit"]')
      assert.match((await page.textContent('#field-email-error')) ?? '', /valid email address/)
      assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('form-error')), true)
      assert.equal(await page.inputValue('#field-username'), 'ada')
      assert.equal(await page.inputValue('#field-password'), '', 'the password is never sent back')
      await screenshot(page, 'register-errors-1280')

      await page.fill('#field-email', 'ada@example.com')
      await page.fill('#field-password', PASSWORD)
      await submit(page, 'main form button[type="submit"]')
      assert.equal(new URL(page.url()).pathname, '/me')
      assert.match((await page.textContent('.notice')) ?? '', /Your account is ready/)

      await submit(page, 'nav form[action="/logout"] button')
      assert.equal(new URL(page.url()).pathname, '/')
      assert.match((await page.textContent('.notice')) ?? '', /You are signed out/)

      await signIn(page, base, 'ada')
      assert.equal(new URL(page.url()).pathname, '/me')
      assert.match((await page.textContent('h1')) ?? '', /My learning/)
      assert.deepEqual(watch.problems(), [])
    })

    test('uploads a picture (previewed, then shown); an oversized one is refused with the reason', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/profile`)
      await page.setInputFiles('#avatar-avatar', {
        name: 'me.png',
        mimeType: 'image/png',
        buffer: await makePng(300, 200),
      })
      await page.waitForSelector('#avatar-preview:not([hidden])')
      assert.match((await page.getAttribute('#avatar-preview', 'src')) ?? '', /^blob:/)
      await submit(page, 'form[action="/profile/avatar"] button[type="submit"]')
      assert.match((await page.textContent('.notice')) ?? '', /Your new picture is in place/)
      const shown = await page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('img#current-avatar')
        return img !== null && img.complete && img.naturalWidth > 0 ? img.getAttribute('src') : null
      })
      assert.match(String(await shown.jsonValue()), /^\/avatars\/\d+\/[0-9a-f]{16}\.(png|jpg)$/)

      // Over MAX_UPLOAD_BYTES: refused at once, in the page, before anything is sent.
      await page.setInputFiles('#avatar-avatar', {
        name: 'huge.png',
        mimeType: 'image/png',
        buffer: Buffer.alloc(MAX_UPLOAD_BYTES + 1, 7),
      })
      await page.waitForSelector('#avatar-avatar[aria-invalid="true"]')
      assert.match((await page.textContent('#avatar-avatar-error')) ?? '', /File too large/)
      assert.equal(await page.isHidden('#avatar-preview'), true)
      await page.click('form[action="/profile/avatar"] button[type="submit"]')
      assert.equal(new URL(page.url()).pathname, '/profile', 'the form was not sent')
      await screenshot(page, 'profile-file-too-large-1280')

      // Too many pixels: only the server can tell; its reason appears next to the field.
      await page.setInputFiles('#avatar-avatar', {
        name: 'wide.png',
        mimeType: 'image/png',
        buffer: makePngHeaderClaiming(5000, 10),
      })
      await submit(page, 'form[action="/profile/avatar"] button[type="submit"]')
      assert.match((await page.textContent('#avatar-avatar-error')) ?? '', /Image dimensions too large/)
      assert.ok(await page.isVisible('img#current-avatar[src^="/avatars/"]'), 'the previous picture stays')
      assert.deepEqual(watch.problems(), [])
    })

    test('enrols in a course and completes a lesson: the progress shows', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/`)
      await Promise.all([page.waitForNavigation(), page.click('a[href="/courses/web-fundamentals"]')])
      await submit(page, 'form[action="/courses/web-fundamentals/enroll"] button')
      assert.match((await page.textContent('.notice')) ?? '', /You are enrolled/)
      assert.match((await page.textContent('label[for="course-progress"]')) ?? '', /0 of 7 lessons complete/)
      await Promise.all([page.waitForNavigation(), page.click('text=Start: How a page reaches you')])
      assert.equal(new URL(page.url()).pathname, '/courses/web-fundamentals/lessons/1')
      // The script marks it without leaving the page: the panel changes in place, and says so.
      await page.evaluate(() => ((window as unknown as { lessonPage: boolean }).lessonPage = true))
      const completed = page.waitForResponse((res) =>
        res.url().endsWith('/api/courses/web-fundamentals/lessons/1/complete'),
      )
      await page.click('form[action$="/lessons/1/complete"] button')
      assert.equal((await completed).status(), 200)
      await page.waitForSelector('.completion .badge--done')
      assert.equal(
        await page.evaluate(() => (window as unknown as { lessonPage?: boolean }).lessonPage),
        true,
        'no reload',
      )
      assert.equal(await page.textContent('[data-completion-status]'), 'Lesson marked as complete.')
      assert.match((await page.textContent('.completion')) ?? '', /You have completed this lesson/)
      assert.match((await page.textContent('label[for="course-progress"]')) ?? '', /1 of 7 lessons complete · 14.3%/)
      assert.equal(await page.getAttribute('progress#course-progress', 'value'), '1')
      await page.goto(`${base}/me`)
      assert.match((await page.textContent('main')) ?? '', /1 of 7 lessons complete/)
      assert.deepEqual(watch.problems(), [])
    })

    test('reads the ebook, leaves, and comes back at the same place', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/ebooks/long-read`)
      const target = await scrollYAt(page, 0.6)
      const saved = page.waitForResponse(
        (res) => res.url().endsWith('/api/ebooks/long-read/progress') && res.request().method() === 'PUT',
      )
      await page.evaluate((y) => window.scrollTo(0, y), target)
      const response = await saved
      assert.equal(response.status(), 200)
      const position = (JSON.parse(response.request().postData() ?? '{}') as { position: number }).position
      assert.ok(Math.abs(position - 0.6) < 0.01, `saved position ${position}`)

      await page.goto(`${base}/me`)
      assert.match((await page.textContent('main')) ?? '', /A long read[\s\S]*Chapter 1 of 2/)
      await page.goto(`${base}/ebooks/long-read`)
      await page.waitForFunction((y) => Math.abs(window.scrollY - y) <= 2, target)
      await screenshot(page, 'reader-1280')
      assert.deepEqual(watch.problems(), [])
    })

    test('scrolling back up to the chapter heading keeps the furthest place reached', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/ebooks/long-read`)
      const target = await scrollYAt(page, 0.6)
      await page.waitForFunction((y) => Math.abs(window.scrollY - y) <= 2, target)
      // Up to the heading: it stays reachable, and leaving from there saves nothing further back.
      await page.evaluate(() => window.scrollTo(0, 0))
      assert.ok(await page.isVisible('#chapter-heading'))
      await page.goto(`${base}/me`)
      await page.goto(`${base}/ebooks/long-read`)
      await page.waitForFunction((y) => Math.abs(window.scrollY - y) <= 2, target)
      assert.deepEqual(watch.problems(), [])
    })

    test("a script's save with an expired token fetches a fresh one and is sent again, once", STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/ebooks/long-read/chapters/2`)
      live.t.clock.advance(CSRF_TTL_MS + MINUTE_MS) // the page's token is now too old; the session lives on
      watch.allow('/api/ebooks/long-read/progress', 403)
      const statuses: number[] = []
      page.on('response', (res) => {
        if (res.url().endsWith('/api/ebooks/long-read/progress')) statuses.push(res.status())
      })
      const retried = page.waitForResponse(
        (res) => res.url().endsWith('/api/ebooks/long-read/progress') && res.status() === 200,
      )
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight / 3))
      await retried
      assert.deepEqual(statuses, [403, 200])
      assert.deepEqual(watch.problems(), [])
    })

    test('a form posted after its token expired shows "the form expired" with what was typed', STEP, async () => {
      const { page, watch } = learner
      await page.goto(`${base}/profile`)
      await page.fill('#field-display_name', 'Ada Lovelace')
      await page.fill('#field-bio', 'Wrote the first program, long before there was a machine to run it.')
      live.t.clock.advance(CSRF_TTL_MS + MINUTE_MS)
      await submit(page, 'form[action="/profile"] button[type="submit"]')
      assert.match((await page.textContent('.form-error')) ?? '', /The form expired, please try again/)
      assert.equal(await page.inputValue('#field-display_name'), 'Ada Lovelace')
      assert.match(await page.inputValue('#field-bio'), /^Wrote the first program/)
      await screenshot(page, 'profile-form-expired-1280')
      await submit(page, 'form[action="/profile"] button[type="submit"]')
      assert.match((await page.textContent('.notice')) ?? '', /Your profile is saved/)
      assert.equal(await page.inputValue('#field-display_name'), 'Ada Lovelace')
      assert.deepEqual(watch.problems(), [])
    })

    test("with the script, a form left open past its token's lifetime is sent with a fresh token", STEP, async () => {
      const page = await learner.context.newPage()
      const watch = await watchPage(page)
      await page.clock.install() // the page's own clock, moved below as if the form stayed open
      await page.goto(`${base}/profile`)
      await page.fill('#field-bio', 'Left open over lunch, then sent.')
      await page.clock.fastForward(CSRF_TTL_MS + MINUTE_MS)
      live.t.clock.advance(CSRF_TTL_MS + MINUTE_MS)
      const refreshed = page.waitForResponse((res) => res.url().endsWith('/csrf-token') && res.status() === 200)
      await submit(page, 'form[action="/profile"] button[type="submit"]')
      await refreshed
      assert.match((await page.textContent('.notice')) ?? '', /Your profile is saved/)
      assert.equal(await page.inputValue('#field-bio'), 'Left open over lunch, then sent.')
      assert.deepEqual(watch.problems(), [])
      await page.close()
    })

    test('an admin disables the learner, whose open session then fails', STEP, async () => {
      const admin = await signedInContext(session, live, 'root')
      await admin.page.goto(`${base}/admin?q=ada`)
      const row = admin.page.locator('form[action^="/admin/users/"]', {
        has: admin.page.locator('label:text("Status of ada")'),
      })
      await row.locator('select[name="status"]').selectOption('disabled')
      await Promise.all([admin.page.waitForNavigation(), row.locator('button[type="submit"]').click()])
      assert.match((await admin.page.textContent('.notice')) ?? '', /The account is updated/)

      const { page, watch } = learner
      await page.goto(`${base}/me`)
      assert.equal(new URL(page.url()).pathname, '/login', 'signed out: sent to sign in')
      assert.equal(new URL(page.url()).searchParams.get('next'), '/me')
      await page.fill('#field-username', 'ada')
      await page.fill('#field-password', PASSWORD)
      await submit(page, 'main form button[type="submit"]')
      assert.match((await page.textContent('.form-error')) ?? '', /This account is disabled/)
      assert.deepEqual(watch.problems(), [])
      assert.deepEqual(admin.watch.problems(), [])
      await admin.context.close()
    })

    test('the sixth wrong sign-in in the window shows the rate-limit page', STEP, async () => {
      live.t.clock.advance(16 * MINUTE_MS) // a fresh 15-minute window for this address
      const { page, watch, context } = await openContext(session)
      await signIn(page, base, 'nobody', 'wrong password 1')
      for (let attempt = 2; attempt <= 6; attempt++) {
        assert.match(
          (await page.textContent('.form-error')) ?? '',
          /Invalid username or password/,
          `attempt ${attempt - 1}`,
        )
        // The form is shown again with the name kept: only the password is typed again.
        assert.equal(await page.inputValue('#field-username'), 'nobody')
        await page.fill('#field-password', `wrong password ${attempt}`)
        await submit(page, 'main form button[type="submit"]')
      }
      // The sign-in form again, the name kept, saying which limit, why, and when to come back.
      assert.equal(await page.textContent('h1'), 'Sign in')
      assert.equal(await page.inputValue('#field-username'), 'nobody')
      const said = (await page.textContent('.form-error')) ?? ''
      assert.match(said, /Too many failed sign-in attempts came from your network/)
      assert.match(said, /try again in 15 minutes, at \d\d:\d\d UTC\./)
      await screenshot(page, 'rate-limited-1280')
      assert.deepEqual(watch.problems(), [])
      await context.close()
      live.t.clock.advance(16 * MINUTE_MS)
    })
  },
)
