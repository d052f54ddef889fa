import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { addOwner, MANY_USERS_ENV } from '../support/factories.ts'
import { createPageClient, formsOf, importContent, inlineCodeIn, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'
const PART = '/admin/courses/web-fundamentals/parts/2'

/** The lesson editor's Preview button, and what it says when the sanitizer removed part of a text. */
describe('pages: the editor previews a text and names what the sanitizer removed', () => {
  let t: TestApp
  let teacher: PageClient

  before(async () => {
    t = await buildTestApp({ env: MANY_USERS_ENV })
    await importContent(t)
    const api = createAgent(t.app)
    const registered = await api.post('/api/register', {
      json: { username: 'teacher', email: 'teacher@example.com', password: PASSWORD },
    })
    await t.database.db.updateTable('users').set({ role: 'instructor' }).where('username', '=', 'teacher').execute()
    await addOwner(t.database.db, 'course', 'web-fundamentals', registered.json().user.id)
    teacher = createPageClient(t.app)
    await teacher.open('/login')
    assert.equal((await teacher.submit('/login', { username: 'teacher', password: PASSWORD })).statusCode, 303)
  })
  after(() => t.close())

  const source = async () =>
    (
      await t.database.db
        .selectFrom('lessons')
        .select('body_markdown')
        .where('title', '=', 'HTML: structure and meaning')
        .executeTakeFirstOrThrow()
    ).body_markdown

  test('the edit form has a Preview button next to Save, in the same form', async () => {
    const page = await teacher.open(PART)
    const form = formsOf(page.body).find((f) => f.action === PART)
    assert.ok(form?.tokenFirst)
    assert.match(
      form.html,
      /<button type="submit" class="button button--secondary" name="intent" value="preview">Preview<\/button>/,
    )
  })

  test('Preview renders the text as learners would see it and saves nothing', async () => {
    const before = await source()
    await teacher.open(PART)
    const res = await teacher.submit(PART, {
      title: 'HTML: structure and meaning',
      body: '# Heading\n\nSome **bold** text.\n\n```\ncode\n```',
      intent: 'preview',
    })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /A preview: nothing is saved yet\. Everything you wrote is shown\./)
    assert.match(res.body, /<h2 id="preview-heading">Preview<\/h2>\n<div class="prose">\n<h2>Heading<\/h2>/)
    assert.match(res.body, /<strong>bold<\/strong>/)
    assert.match(res.body, /<pre tabindex="0" role="region" aria-label="Code example">/)
    // What was typed is still in the form, to go on editing.
    assert.match(res.body, /Some \*\*bold\*\* text\./)
    assert.deepEqual(inlineCodeIn(res.body), [])
    assert.equal(await source(), before)
  })

  test('Preview of a text with script, an event handler and a javascript: link names each kind removed', async () => {
    await teacher.open(PART)
    const res = await teacher.submit(PART, {
      title: 'HTML: structure and meaning',
      body: 'Hi <span onclick="steal()">there</span> <script>alert(1)</script><script>alert(2)</script> [x](javascript:alert(3))\n\n```html\n<script>shown as code</script>\n```',
      intent: 'preview',
    })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /The sanitizer removed what a page may not contain/)
    assert.match(res.body, /<li>&lt;script&gt; element \(2\)<\/li>/)
    assert.match(res.body, /<li>onclick attribute<\/li>/)
    assert.match(res.body, /<li>href attribute<\/li>/)
    // Code shown as code is text, not removed.
    assert.match(res.body, /&lt;script&gt;shown as code&lt;\/script&gt;/)
    assert.doesNotMatch(res.body, /<script>alert/)
  })

  test('Save of such a text saves it and says what learners will not see; a clean text goes back to the course', async () => {
    await teacher.open(PART)
    const body = 'Kept, and <iframe src="https://example.org"></iframe> not.'
    const saved = await teacher.submit(PART, { title: 'HTML: structure and meaning', body })
    assert.equal(saved.statusCode, 200)
    assert.match(saved.body, /Saved\. The sanitizer removed/)
    assert.match(saved.body, /<li>&lt;iframe&gt; element<\/li>/)
    assert.match(saved.body, /<h2 id="preview-heading">As learners see it<\/h2>/)
    assert.equal(await source(), body)
    await teacher.open(PART)
    const clean = await teacher.submit(PART, { title: 'HTML: structure and meaning', body: 'Plain text.' })
    assert.equal(clean.statusCode, 303)
    assert.equal(clean.headers.location, '/admin/courses/web-fundamentals?notice=content-updated')
  })

  test('adding a lesson whose text loses something opens its edit page saying what (201); a clean one goes back', async () => {
    await teacher.open('/admin/courses/web-fundamentals')
    const added = await teacher.submit('/admin/courses/web-fundamentals/parts', {
      title: 'Embedding',
      body: 'A frame: <iframe src="https://example.org"></iframe>',
    })
    assert.equal(added.statusCode, 201)
    assert.match(added.body, /<li>&lt;iframe&gt; element<\/li>/)
    assert.match(added.body, /action="\/admin\/courses\/web-fundamentals\/parts\/8"/)
    await teacher.open('/admin/courses/web-fundamentals')
    const clean = await teacher.submit('/admin/courses/web-fundamentals/parts', { title: 'Plain', body: 'Text.' })
    assert.equal(clean.statusCode, 303)
  })
})
