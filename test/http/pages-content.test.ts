import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { listTemplates, VIEWS_DIR } from '../../src/web/views.ts'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createPageClient, formsOf, importContent, inlineCodeIn, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'
const XSS = '<script>alert(1)</script>'

async function signedInClient(t: TestApp, username: string): Promise<PageClient> {
  const browser = createPageClient(t.app)
  await browser.open('/register')
  const res = await browser.submit('/register', { username, email: `${username}@example.com`, password: PASSWORD })
  assert.equal(res.statusCode, 303)
  return browser
}

async function makeRole(t: TestApp, username: string, role: 'instructor' | 'admin') {
  await t.database.db.updateTable('users').set({ role }).where('username', '=', username).execute()
}

describe('pages: catalogue, courses, lessons, reader, dashboard (CONTRACT §6)', () => {
  let t: TestApp
  let staff: Agent
  before(async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_LOGIN: '100/15m', RATE_LIMIT_REGISTER: '100/1h' } })
    await importContent(t)
    staff = createAgent(t.app)
    await staff.post('/api/register', {
      json: { username: 'teacher', email: 'teacher@example.com', password: PASSWORD },
    })
    await makeRole(t, 'teacher', 'instructor')
    // A draft, and a published course whose author wrote markup in its title and a script in a lesson.
    await staff.post('/api/courses', { json: { slug: 'draft-course', title: 'Unfinished draft' } })
    await staff.post('/api/courses', {
      json: { slug: 'xss-course', title: `Tricky ${XSS}`, description: `"quoted" & ${XSS}`, published: true },
    })
    await staff.post('/api/courses/xss-course/lessons', {
      json: {
        title: `Lesson ${XSS}`,
        body: `Hello <script>alert('lesson')</script> <img src=x onerror=alert(2)> **bold**`,
      },
    })
  })
  after(() => t.close())

  test('the catalogue lists published courses and ebooks, escaped; drafts only for staff, marked', async () => {
    const visitor = await createPageClient(t.app).open('/')
    assert.equal(visitor.statusCode, 200)
    assert.match(visitor.body, /<a href="\/courses\/web-fundamentals">Web fundamentals<\/a>/)
    assert.match(visitor.body, /<a href="\/ebooks\/http-in-brief">HTTP in brief<\/a>/)
    assert.match(visitor.body, /7 lessons/)
    assert.doesNotMatch(visitor.body, /Unfinished draft/)
    assert.ok(!visitor.body.includes(XSS), 'no raw script from a title')
    assert.ok(visitor.body.includes('Tricky &lt;script&gt;alert(1)&lt;/script&gt;'))
    assert.ok(visitor.body.includes('&quot;quoted&quot; &amp; &lt;script&gt;'))

    const teacher = createPageClient(t.app)
    await teacher.open('/login')
    await teacher.submit('/login', { username: 'teacher', password: PASSWORD })
    const staffView = await teacher.open('/')
    assert.match(staffView.body, /Unfinished draft<\/a><\/h3>[\s\S]*?<span class="badge">Draft<\/span>/)
    assert.equal((await createPageClient(t.app).open('/courses/draft-course')).statusCode, 404)
  })

  test('a course page: signed out, an invitation to sign in and come back; signed in, enrol → progress', async () => {
    const visitor = await createPageClient(t.app).open('/courses/web-fundamentals')
    assert.equal(visitor.statusCode, 200)
    assert.match(visitor.body, /href="\/login\?next=%2Fcourses%2Fweb-fundamentals">Sign in to enrol/)
    assert.equal((visitor.body.match(/<li( class="done")?>\n<span class="number"/g) ?? []).length, 7)

    const learner = await signedInClient(t, 'ada')
    const page = await learner.open('/courses/web-fundamentals')
    const enroll = formsOf(page.body).find((form) => form.action === '/courses/web-fundamentals/enroll')
    assert.ok(enroll?.hasToken && enroll.tokenFirst)
    const res = await learner.submit('/courses/web-fundamentals/enroll', {})
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/courses/web-fundamentals?notice=enrolled')
    const after = await learner.follow(res)
    assert.match(after.body, /You are enrolled/)
    assert.match(after.body, /<progress id="course-progress" max="7" value="0">/)
    assert.match(after.body, /0 of 7 lessons complete · 0%/)
    assert.match(after.body, /Start: How a page reaches you/)
  })

  test('a lesson: its sanitized HTML, "Mark as complete" → 303 back, completed, progress shown', async () => {
    const learner = await signedInClient(t, 'brendan')
    const lesson = await learner.open('/courses/web-fundamentals/lessons/2')
    assert.equal(lesson.statusCode, 200)
    assert.match(lesson.body, /<h1 id="lesson-heading">HTML: structure and meaning<\/h1>/)
    assert.match(lesson.body, /<pre tabindex="0" role="region" aria-label="Code example"><code/)
    assert.match(lesson.body, /rel="prev">← How a page reaches you/)
    const res = await learner.submit('/courses/web-fundamentals/lessons/2/complete', {})
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/courses/web-fundamentals/lessons/2?notice=completed')
    const done = await learner.follow(res)
    assert.match(done.body, /Lesson marked as complete/)
    assert.match(done.body, /<span class="badge badge--done">Completed<\/span> You have completed this lesson/)
    assert.match(done.body, /1 of 7 lessons complete · 14.3%/)
    assert.equal(formsOf(done.body).filter((f) => f.action.endsWith('/complete')).length, 0)
    const course = await learner.open('/courses/web-fundamentals')
    assert.match(
      course.body,
      /<li class="done">\n<span class="number" aria-hidden="true">✓<\/span>\n<a href="\/courses\/web-fundamentals\/lessons\/2">/,
    )
  })

  test('what an author writes cannot script the page: escaped titles, sanitized bodies', async () => {
    const page = await createPageClient(t.app).open('/courses/xss-course/lessons/1')
    assert.equal(page.statusCode, 200)
    assert.deepEqual(inlineCodeIn(page.body), [])
    assert.ok(page.body.includes('<h1 id="lesson-heading">Lesson &lt;script&gt;alert(1)&lt;/script&gt;</h1>'))
    assert.match(page.body, /<strong>bold<\/strong>/)
    assert.doesNotMatch(page.body, /alert\('lesson'\)|onerror/)
  })

  test('signed out, "Mark as complete" leads to sign in and back to the lesson', async () => {
    const visitor = createPageClient(t.app)
    const page = await visitor.open('/courses/web-fundamentals/lessons/3')
    assert.match(
      page.body,
      /href="\/login\?next=%2Fcourses%2Fweb-fundamentals%2Flessons%2F3">Sign in<\/a> to mark lessons/,
    )
    const res = await visitor.agent.post('/courses/web-fundamentals/lessons/3/complete', {
      form: {},
      headers: { referer: 'http://localhost:80/courses/web-fundamentals/lessons/3' },
      csrfIn: 'field',
    })
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, `/login?next=${encodeURIComponent('/courses/web-fundamentals/lessons/3')}`)
  })

  test('unknown course, lesson or ebook: the friendly 404 page', async () => {
    for (const url of [
      '/courses/nope',
      '/courses/web-fundamentals/lessons/99',
      '/ebooks/nope',
      '/ebooks/http-in-brief/chapters/9',
    ]) {
      const res = await createPageClient(t.app).open(url)
      assert.equal(res.statusCode, 404, url)
      assert.match(res.body, /Page not found/, url)
    }
  })

  test('the reader opens at the saved chapter and place; a chapter link opens that chapter', async () => {
    const reader = await signedInClient(t, 'carol')
    const first = await reader.open('/ebooks/http-in-brief')
    assert.match(
      first.body,
      /data-reader data-chapter="1" data-position="0" data-progress-url="\/api\/ebooks\/http-in-brief\/progress"/,
    )
    const put = await reader.agent.put('/api/ebooks/http-in-brief/progress', { json: { chapter: 3, position: 0.42 } })
    assert.equal(put.statusCode, 200)
    const back = await reader.open('/ebooks/http-in-brief')
    assert.match(back.body, /<h1 id="chapter-heading">Cookies and sessions<\/h1>/)
    assert.match(back.body, /data-chapter="3" data-position="0.42"/)
    assert.match(back.body, /<a href="\/ebooks\/http-in-brief\/chapters\/3" aria-current="page">/)
    const other = await reader.open('/ebooks/http-in-brief/chapters/2')
    assert.match(other.body, /data-chapter="2" data-position="0"/)
    const visitor = await createPageClient(t.app).open('/ebooks/http-in-brief')
    assert.match(visitor.body, /data-chapter="1" data-position="0"/)
    assert.match(visitor.body, /Sign in<\/a> and Lectern keeps your place/)
  })

  test('the dashboard: my courses with progress, my ebooks with the place; the name escaped', async () => {
    const learner = await signedInClient(t, 'dora')
    await learner.agent.patch('/api/profile', { json: { display_name: XSS } })
    await learner.agent.post('/api/courses/web-fundamentals/lessons/1/complete')
    await learner.agent.put('/api/ebooks/http-in-brief/progress', { json: { chapter: 2, position: 0.5 } })
    const page = await learner.open('/me')
    assert.equal(page.statusCode, 200)
    assert.ok(page.body.includes('Welcome back, &lt;script&gt;alert(1)&lt;/script&gt;.'))
    assert.ok(!page.body.includes(XSS))
    assert.match(page.body, /1 of 7 lessons complete · 14.3%/)
    assert.match(page.body, /Chapter 2 of 4 · 37.5% read/)
    assert.equal((await createPageClient(t.app).open('/me')).headers.location, '/login?next=%2Fme')
  })

  test('every rendered page: no inline script or style, every POST form carries a token first', async () => {
    const learner = await signedInClient(t, 'erin')
    for (const url of [
      '/',
      '/me',
      '/courses/web-fundamentals',
      '/courses/web-fundamentals/lessons/1',
      '/ebooks/http-in-brief',
      '/login?next=/me',
      '/nope',
    ]) {
      const res = await learner.open(url)
      const html = res.statusCode === 303 ? (await learner.follow(res)).body : res.body
      assert.deepEqual(inlineCodeIn(html), [], url)
      for (const form of formsOf(html).filter((f) => f.method === 'post')) {
        assert.ok(form.hasToken && form.tokenFirst, `${url}: ${form.action}`)
      }
    }
  })
})

describe('templates: raw output only where it is meant', () => {
  test('every <%~ %> is an include, the layout body, or sanitized HTML under a "Raw:" comment', () => {
    for (const name of listTemplates()) {
      const lines = readFileSync(join(VIEWS_DIR, `${name}.eta`), 'utf8').split('\n')
      lines.forEach((line, index) => {
        for (const match of line.matchAll(/<%~\s*([^%]*?)\s*%>/g)) {
          const expression = match[1]!
          if (expression.startsWith('include(')) continue
          const comment = lines[index - 1] ?? ''
          assert.match(comment, /<%\/\* Raw: /, `${name}:${index + 1} raw output without a Raw: comment`)
          assert.ok(
            expression === 'it.body' || /\.sanitizedHtml$/.test(expression),
            `${name}:${index + 1} raw output of ${expression}`,
          )
        }
      })
    }
  })
})
