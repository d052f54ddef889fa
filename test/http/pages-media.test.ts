/**
 * The pages of CONTRACT §12 without JavaScript: the editor's image upload (/admin/media, alt
 * text required, the Markdown to paste shown after), the learners report page (owners and
 * admins, sorted by links, a CSV link), the owners form on /admin, and the demo lesson's image.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { multipartBody } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { makeBmp, makePng } from '../support/images.ts'
import { BROWSER_ACCEPT, formsOf, formToken, importContent } from './pages-support.ts'

const html = { headers: { accept: BROWSER_ACCEPT } }

describe('pages: lesson media, learners, owners (CONTRACT §12)', () => {
  let t: TestApp
  let admin: SignedInUser
  let author: SignedInUser
  let idle: SignedInUser
  let learner: SignedInUser

  before(async () => {
    t = await buildTestApp({ env: { ...MANY_USERS_ENV, RATE_LIMIT_AVATAR: '1000/1h' } })
    admin = await signedIn(t, 'admin')
    author = await signedIn(t, 'instructor', 'author')
    idle = await signedIn(t, 'instructor', 'idle')
    learner = await signedIn(t, 'learner')
    const created = await author.agent.post('/api/courses', {
      json: { title: 'Drawn', slug: 'drawn', published: true },
    })
    assert.equal(created.statusCode, 201)
    assert.equal(
      (await author.agent.post('/api/courses/drawn/lessons', { json: { title: 'One', body: 'x' } })).statusCode,
      201,
    )
    await importContent(t)
  })
  after(() => t.close())

  async function uploadForm(who: SignedInUser, fields: { alt?: string; file?: Buffer }) {
    const page = await who.agent.get('/admin/media', html)
    assert.equal(page.statusCode, 200, page.body)
    const form = formsOf(page.body).find((f) => f.action === '/admin/media')
    assert.ok(form?.hasToken && form.tokenFirst, 'csrf_token is the first field of the form')
    assert.match(form.html, /enctype="multipart\/form-data"/)
    const parts = [
      ...(fields.alt === undefined ? [] : [{ name: 'alt', value: fields.alt }]),
      ...(fields.file ? [{ name: 'file', filename: 'picture.png', contentType: 'image/png', data: fields.file }] : []),
    ]
    const body = multipartBody(parts, { csrfToken: formToken(page.body) })
    return who.agent.post('/admin/media', {
      csrf: false,
      ...body,
      headers: { ...body.headers, accept: BROWSER_ACCEPT },
    })
  }

  test('an owner uploads with alt text: the page shows the Markdown to paste and the image', async () => {
    const res = await uploadForm(author, { alt: 'A [red] square', file: await makePng(2000, 100) })
    assert.equal(res.statusCode, 200, res.body)
    const url = /\/media\/[0-9a-f]{64}\.png/.exec(res.body)![0]
    assert.ok(res.body.includes(`![A \\[red\\] square](${url})`), 'the snippet, brackets escaped')
    assert.match(res.body, new RegExp(`<img src="${url}" alt="A \\[red\\] square">`))
    assert.equal((t.events('media_uploaded').at(-1)!.extra as { via: string }).via, 'page')
    // Pasted into a lesson, it renders as an image with that alt text.
    const edited = await author.agent.patch('/api/courses/drawn/lessons/1', { json: { body: `![A square](${url})` } })
    assert.equal(edited.statusCode, 200)
    assert.match(edited.json().lesson.body_html, new RegExp(`<img src="${url}" alt="A square" />`))
  })

  test('without alt text: 400, the form again with the reason, nothing stored', async () => {
    const before = (await t.database.db.selectFrom('media').select('sha256').execute()).length
    for (const alt of [undefined, '   ']) {
      const res = await uploadForm(author, { alt, file: await makePng(33, 33) })
      assert.equal(res.statusCode, 400)
      assert.match(res.body, /Describe the picture/)
    }
    assert.equal((await t.database.db.selectFrom('media').select('sha256').execute()).length, before)
  })

  test('a refused image: 400 with the avatars’ message next to the field', async () => {
    const res = await uploadForm(author, { alt: 'Old', file: makeBmp() })
    assert.equal(res.statusCode, 400)
    assert.match(res.body, /Unsupported image format/)
    const none = await uploadForm(author, { alt: 'Nothing' })
    assert.equal(none.statusCode, 400)
    assert.match(none.body, /No file uploaded/)
  })

  test('an instructor who owns nothing, and a learner: 403 pages', async () => {
    assert.equal((await idle.agent.get('/admin/media', html)).statusCode, 403)
    assert.equal((await learner.agent.get('/admin/media', html)).statusCode, 403)
  })

  test('the learners page: the owner and admins, sortable by links, with a CSV link; others 403', async () => {
    assert.equal((await learner.agent.post('/api/courses/drawn/lessons/1/complete')).statusCode, 200)
    for (const who of [author, admin]) {
      const page = await who.agent.get('/courses/drawn/learners?sort=progress', html)
      assert.equal(page.statusCode, 200)
      assert.match(page.body, /<h1>Learners of Drawn<\/h1>/)
      assert.ok(page.body.includes(learner.username))
      assert.match(page.body, /<a href="\?sort=name">Name<\/a>/)
      assert.match(page.body, /<a href="\?sort=last_activity">Last activity<\/a>/)
      assert.match(page.body, /<strong>Progress<\/strong>/)
      assert.match(page.body, /href="\/api\/courses\/drawn\/learners\?format=csv&amp;sort=progress"/)
    }
    assert.equal((await idle.agent.get('/courses/drawn/learners', html)).statusCode, 403)
    assert.equal((await learner.agent.get('/courses/drawn/learners', html)).statusCode, 403)
  })

  test('/admin: owners shown; an admin names owners with the form; instructors may not post it', async () => {
    const page = await admin.agent.get('/admin', html)
    assert.match(page.body, new RegExp(`Owners: ${author.username}`))
    assert.match(page.body, /Owners: none/)
    const form = formsOf(page.body).find((f) => f.action === '/admin/courses/web-fundamentals/owners')
    assert.ok(form?.hasToken && form.tokenFirst)
    const set = await admin.agent.post('/admin/courses/web-fundamentals/owners', {
      form: { owners: `${idle.username}, ${author.username}` },
      csrfIn: 'field',
      ...html,
    })
    assert.equal(set.statusCode, 303)
    assert.equal((t.events('admin_action').at(-1)!.extra as { via: string }).via, 'page')
    const mine = await idle.agent.get('/admin', html)
    assert.match(mine.body, /href="\/admin\/courses\/web-fundamentals">Edit/)
    const unknown = await admin.agent.post('/admin/courses/web-fundamentals/owners', {
      form: { owners: 'ghost_user' },
      csrfIn: 'field',
      ...html,
    })
    assert.equal(unknown.statusCode, 400)
    assert.match(unknown.body, /Unknown username: ghost_user/)
    const denied = await author.agent.post('/admin/courses/drawn/owners', {
      form: { owners: author.username },
      csrfIn: 'field',
      ...html,
    })
    assert.equal(denied.statusCode, 403)
  })

  test('the demo lesson shows its diagram from /media/, with its alt text', async () => {
    const lesson = await learner.agent.get('/api/courses/web-fundamentals/lessons/1')
    const match = /<img src="(\/media\/[0-9a-f]{64}\.png)" alt="The browser first asks DNS[^"]*" \/>/.exec(
      lesson.json().lesson.body_html,
    )
    assert.ok(match, 'the demo image is an image of the media store')
    const image = await t.app.inject({ url: match[1]! })
    assert.equal(image.statusCode, 200)
    assert.equal(image.headers['content-type'], 'image/png')
  })
})
