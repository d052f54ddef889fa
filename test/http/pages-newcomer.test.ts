import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV } from '../support/factories.ts'
import { DEMO_QUIZ_LESSON, demoQuizAnswers } from '../support/quizzes.ts'
import { createPageClient, importContent, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'

/**
 * What a newcomer noticed on the pages: how a new account is greeted, where the person is named,
 * and the way back into what they were doing (Continue, Resume).
 */
describe('pages: greeting, the person named, Continue and Resume', () => {
  let t: TestApp

  before(async () => {
    t = await buildTestApp({ env: MANY_USERS_ENV })
    await importContent(t)
  })
  after(() => t.close())

  async function newAccount(username: string): Promise<{ browser: PageClient; welcome: string }> {
    const browser = createPageClient(t.app)
    await browser.open('/register')
    const res = await browser.submit('/register', { username, email: `${username}@example.com`, password: PASSWORD })
    assert.equal(res.statusCode, 303)
    const page = await browser.follow(res)
    return { browser, welcome: page.body }
  }

  test('a new account is welcomed, not welcomed back; once it has started something, it is', async () => {
    const { browser, welcome } = await newAccount('newcomer')
    assert.doesNotMatch(welcome, /Welcome back/)
    assert.match(
      welcome,
      /Welcome, newcomer\. Choose a course or an ebook in the <a href="\/">catalogue<\/a> to begin\./,
    )
    await browser.agent.post('/api/courses/web-fundamentals/enroll')
    assert.match((await browser.open('/me')).body, /Welcome back, newcomer\. Here is where you are\./)
  })

  test('the header names the person, by display name when they have one, beside their picture or initial', async () => {
    const { browser } = await newAccount('zoe')
    let page = await browser.open('/')
    assert.match(page.body, /<span class="viewer-avatar viewer-avatar--initial" aria-hidden="true">Z<\/span>/)
    assert.match(page.body, /<span class="visually-hidden">Profile of <\/span><span class="viewer-name">zoe<\/span>/)
    await browser.agent.patch('/api/profile', { json: { display_name: 'Élodie <b>Z</b>' } })
    page = await browser.open('/profile')
    assert.match(page.body, /<span class="viewer-name">Élodie &lt;b&gt;Z&lt;\/b&gt;<\/span>/)
    assert.match(page.body, />É<\/span>/)
    assert.match(page.body, /Signed in as <strong>Élodie &lt;b&gt;Z&lt;\/b&gt;<\/strong> \(zoe\)/)
    // Signed out, the header names nobody.
    const visitor = await createPageClient(t.app).open('/')
    assert.doesNotMatch(visitor.body, /viewer-name/)
  })

  test('My learning: "Start", then "Continue" to the first lesson not yet completed, and none once finished', async () => {
    const { browser } = await newAccount('cont')
    await browser.agent.post('/api/courses/web-fundamentals/enroll')
    const link = (body: string) =>
      /<a class="button button--small" href="(\/courses\/web-fundamentals\/lessons\/\d+)">(Start|Continue)</.exec(body)
    assert.deepEqual(link((await browser.open('/me')).body)?.slice(1), ['/courses/web-fundamentals/lessons/1', 'Start'])
    for (const n of [1, 2, 4]) await browser.agent.post(`/api/courses/web-fundamentals/lessons/${n}/complete`)
    assert.deepEqual(link((await browser.open('/me')).body)?.slice(1), [
      '/courses/web-fundamentals/lessons/3',
      'Continue',
    ])
    for (const n of [3, 5, 7]) await browser.agent.post(`/api/courses/web-fundamentals/lessons/${n}/complete`)
    // The quiz lesson is completed by passing its quiz (CONTRACT §12).
    const quiz = await browser.agent.post(`/api/courses/web-fundamentals/lessons/${DEMO_QUIZ_LESSON}/quiz`, {
      json: { answers: demoQuizAnswers() },
    })
    assert.equal(quiz.json().passed, true, quiz.body)
    const done = await browser.open('/me')
    assert.equal(link(done.body), null)
    assert.match(done.body, /Finished/)
  })

  test('"Resume" on My learning and on the catalogue card leads to the chapter of the saved place', async () => {
    const { browser } = await newAccount('resumer')
    assert.doesNotMatch((await browser.open('/')).body, />Resume</)
    await browser.agent.put('/api/ebooks/http-in-brief/progress', { json: { chapter: 3, position: 0.4 } })
    const resume =
      /<a class="button button--small" href="\/ebooks\/http-in-brief\/chapters\/3">Resume<span class="visually-hidden"> HTTP in brief<\/span><\/a>/
    assert.match((await browser.open('/me')).body, resume)
    assert.match((await browser.open('/')).body, resume)
    // That chapter opens at the saved place.
    assert.match((await browser.open('/ebooks/http-in-brief/chapters/3')).body, /data-chapter="3" data-position="0.4"/)
  })
})

describe('pages: a disabled account is told whom to contact (SUPPORT_CONTACT)', () => {
  for (const contact of ['Ms Okafor <it-help@school.example>', null]) {
    test(contact === null ? 'unset: the refusal alone' : 'set: named on the refusal, escaped', async () => {
      const t = await buildTestApp({ env: { ...MANY_USERS_ENV, ...(contact ? { SUPPORT_CONTACT: contact } : {}) } })
      try {
        const browser = createPageClient(t.app)
        await browser.open('/register')
        await browser.submit('/register', { username: 'shut', email: 'shut@example.com', password: PASSWORD })
        await t.database.db.updateTable('users').set({ disabled: 1 }).where('username', '=', 'shut').execute()
        const visitor = createPageClient(t.app)
        await visitor.open('/login')
        const res = await visitor.submit('/login', { username: 'shut', password: PASSWORD })
        assert.equal(res.statusCode, 403)
        assert.match(res.body, /This account is disabled\./)
        if (contact === null) assert.doesNotMatch(res.body, /To have it enabled again/)
        else assert.match(res.body, /To have it enabled again, contact Ms Okafor &lt;it-help@school.example&gt;\./)
        // The API's answer stays the contract's.
        const api = await visitor.agent.post('/api/login', { json: { username: 'shut', password: PASSWORD } })
        assert.equal(api.json().error, 'Account disabled')
      } finally {
        await t.close()
      }
    })
  }
})
