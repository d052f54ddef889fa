import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createPageClient, formsOf, importContent, tagOf, textOf, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'

describe('pages: /admin, users and the catalogue editor (CONTRACT §5, §6)', () => {
  let t: TestApp
  const ids: Record<string, number> = {}

  async function signIn(username: string): Promise<PageClient> {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    const res = await browser.submit('/login', { username, password: PASSWORD })
    assert.equal(res.statusCode, 303, `sign in ${username}`)
    return browser
  }

  before(async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_LOGIN: '100/15m', RATE_LIMIT_REGISTER: '100/1h' } })
    await importContent(t)
    const api = createAgent(t.app)
    for (const name of ['root', 'teacher', 'ada', 'bob', 'carl']) {
      const res = await api.post('/api/register', {
        json: { username: name, email: `${name}@example.com`, password: PASSWORD },
      })
      ids[name] = res.json().user.id
      api.clearCookies()
    }
    await t.database.db.updateTable('users').set({ role: 'admin' }).where('username', '=', 'root').execute()
    await t.database.db.updateTable('users').set({ role: 'instructor' }).where('username', '=', 'teacher').execute()
  })
  after(() => t.close())

  test('admins see users and the catalogue; instructors the catalogue only; learners a 403 page', async () => {
    const admin = await (await signIn('root')).open('/admin')
    assert.equal(admin.statusCode, 200)
    assert.match(admin.body, /<h2 id="users-heading">Users<\/h2>/)
    assert.match(admin.body, /<caption>5 accounts<\/caption>/)
    const row = formsOf(admin.body).find((form) => form.action === `/admin/users/${ids.ada}`)
    assert.ok(row?.hasToken && row.tokenFirst)
    assert.match(row.html, /<label class="visually-hidden" for="role-\d+">Role of ada<\/label>/)

    const instructor = await (await signIn('teacher')).open('/admin')
    assert.equal(instructor.statusCode, 200)
    assert.doesNotMatch(instructor.body, /users-heading/)
    // The demo course was imported: it has no owner until an admin names one (CONTRACT §12).
    assert.doesNotMatch(instructor.body, /href="\/admin\/courses\/web-fundamentals">Edit/)
    assert.match(instructor.body, /<span class="badge">Read only<\/span>/)
    assert.match(admin.body, /href="\/admin\/courses\/web-fundamentals">Edit/)
    assert.equal((await (await signIn('teacher')).open('/admin/users/1/delete')).statusCode, 403)

    const learner = await (await signIn('ada')).open('/admin')
    assert.equal(learner.statusCode, 403)
    assert.match(learner.body, /Not allowed/)
  })

  test('disabling a user ends their open session at once; the change is an admin_action', async () => {
    const bob = await signIn('bob')
    assert.equal((await bob.open('/me')).statusCode, 200)
    const root = await signIn('root')
    await root.open('/admin')
    const res = await root.submit(`/admin/users/${ids.bob}`, { role: 'learner', status: 'disabled' })
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/admin?notice=user-updated')
    const line = t.events('admin_action').find((l) => l.request_id === res.headers['x-request-id'])
    assert.deepEqual((line?.extra as Record<string, unknown>)?.change, { disabled: { from: false, to: true } })
    assert.equal((line?.extra as Record<string, unknown>)?.via, 'page')

    const after = await bob.open('/me')
    assert.equal(after.statusCode, 303)
    assert.equal(after.headers.location, '/login?next=%2Fme')
    await bob.open('/login')
    const again = await bob.submit('/login', { username: 'bob', password: PASSWORD })
    assert.equal(again.statusCode, 403)
    assert.match(again.body, /This account is disabled/)
  })

  test('the last admin cannot be demoted: 409, the reason on the page, logged as refused', async () => {
    const root = await signIn('root')
    await root.open('/admin')
    const res = await root.submit(`/admin/users/${ids.root}`, { role: 'learner', status: 'active' })
    assert.equal(res.statusCode, 409)
    assert.match(res.body, /role="alert"[\s\S]*The last admin cannot be demoted, disabled or deleted\./)
    const line = t.events('admin_action').find((l) => l.request_id === res.headers['x-request-id'])
    assert.equal((line?.extra as Record<string, unknown>)?.outcome, 'refused')
  })

  test('a password reset link for a user: shown once to the admin (201, no-referrer), logged without it, and it works', async () => {
    const root = await signIn('root')
    const overview = await root.open('/admin')
    const [form] = formsOf(overview.body).filter((f) => f.action === `/admin/users/${ids.carl}/password-reset`)
    assert.ok(form?.hasToken && form.tokenFirst, 'a button per user, with its CSRF token')
    assert.match(overview.body, /Address not verified/)

    const res = await root.submit(`/admin/users/${ids.carl}/password-reset`, {})
    assert.equal(res.statusCode, 201)
    assert.equal(res.headers['referrer-policy'], 'no-referrer')
    assert.equal(res.headers['cache-control'], 'no-store')
    const url = /<input id="reset-link" type="text" value="([^"]+)" readonly/.exec(res.body)?.[1]
    assert.ok(url, 'the link on the page')
    const token = /\/reset-password\/([A-Za-z0-9_-]+)$/.exec(url)![1]!
    const action = t.events('admin_action').at(-1)!
    assert.equal((action.extra as { action: string }).action, 'password_reset_link')
    assert.equal((action.extra as { via: string }).via, 'page')
    assert.ok(
      t.logs().every((line) => !JSON.stringify(line).includes(token)),
      'the link in no log line',
    )
    const reset = await createAgent(t.app).post('/api/password/reset', {
      json: { token, new_password: 'carl has a new passphrase' },
    })
    assert.equal(reset.statusCode, 204)

    // Without the form's token, or as a learner: refused, and no link is made.
    const links = await t.database.db.selectFrom('password_reset_tokens').select('token_hash').execute()
    assert.equal((await root.submit(`/admin/users/${ids.carl}/password-reset`, {}, { token: null })).statusCode, 403)
    const learner = await signIn('ada')
    await learner.open('/me')
    assert.equal((await learner.submit(`/admin/users/${ids.carl}/password-reset`, {})).statusCode, 403)
    assert.equal((await root.submit('/admin/users/999999/password-reset', {})).statusCode, 404)
    assert.equal(
      (await t.database.db.selectFrom('password_reset_tokens').select('token_hash').execute()).length,
      links.length,
    )
  })

  test('deleting a user: a confirmation page, then the account is gone', async () => {
    const root = await signIn('root')
    const confirm = await root.open(`/admin/users/${ids.carl}/delete`)
    assert.equal(confirm.statusCode, 200)
    assert.match(confirm.body, /<h1 id="confirm-heading">Delete carl\?<\/h1>/)
    const res = await root.submit(`/admin/users/${ids.carl}/delete`, {})
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/admin?notice=user-deleted')
    assert.equal((await root.open(`/admin/users/${ids.carl}/delete`)).statusCode, 404)
  })

  test('creating a course: problems next to their fields, a taken address is a 409, success leads to the editor', async () => {
    const teacher = await signIn('teacher')
    await teacher.open('/admin/courses/new')
    const bad = await teacher.submit('/admin/courses', { title: '', slug: 'Not A Slug', description: '' })
    assert.equal(bad.statusCode, 400)
    assert.match(textOf(bad.body, 'field-title-error') ?? '', /Enter a title/)
    assert.match(textOf(bad.body, 'field-slug-error') ?? '', /lower-case letters, digits and single hyphens/)
    assert.match(tagOf(bad.body, 'field-slug') ?? '', /value="Not A Slug"/)

    const taken = await teacher.submit('/admin/courses', { title: 'Again', slug: 'web-fundamentals' })
    assert.equal(taken.statusCode, 409)
    assert.match(textOf(taken.body, 'field-slug-error') ?? '', /already exists/)

    // Left empty, the address is made from the title.
    const derived = await teacher.submit('/admin/courses', { title: 'Colour and Contrast', slug: '' })
    assert.equal(derived.statusCode, 303)
    assert.equal(derived.headers.location, '/admin/courses/colour-and-contrast?notice=content-updated')

    const ok = await teacher.submit('/admin/courses', {
      title: 'Typography',
      slug: 'typography',
      description: 'Letters.',
    })
    assert.equal(ok.statusCode, 303)
    assert.equal(ok.headers.location, '/admin/courses/typography?notice=content-updated')
    const editor = await teacher.follow(ok)
    assert.match(editor.body, /<span class="badge">Draft<\/span> only staff can see it/)
    assert.equal((await createPageClient(t.app).open('/courses/typography')).statusCode, 404)
  })

  test('lessons: added (long Markdown too), edited, moved, deleted; the course published', async () => {
    const teacher = await signIn('teacher')
    await teacher.open('/admin/courses/typography')
    const long = `# Kerning\n\n${'Space between letters. '.repeat(4000)}` // ~92 KB: more than other forms may send
    assert.equal(
      (await teacher.submit('/admin/courses/typography/parts', { title: 'Kerning', body: long })).statusCode,
      303,
    )
    assert.equal(
      (await teacher.submit('/admin/courses/typography/parts', { title: 'Leading', body: 'Lines.' })).statusCode,
      303,
    )
    const invalid = await teacher.submit('/admin/courses/typography/parts', { title: '', body: 'x' })
    assert.equal(invalid.statusCode, 400)
    assert.match(textOf(invalid.body, 'part-title-error') ?? '', /Enter a title/)

    await teacher.open('/admin/courses/typography/parts/2')
    const moved = await teacher.submit('/admin/courses/typography/parts/2', {
      title: 'Leading and line height',
      body: 'Lines.',
      position: '1',
    })
    assert.equal(moved.statusCode, 303)
    const editor = await teacher.open('/admin/courses/typography')
    assert.match(
      editor.body,
      /<a href="\/admin\/courses\/typography\/parts\/1">Leading and line height<\/a>[\s\S]*parts\/2">Kerning</,
    )
    const outOfRange = await teacher.submit('/admin/courses/typography/parts/1', {
      title: 'x',
      body: 'y',
      position: '9',
    })
    assert.equal(outOfRange.statusCode, 400)
    assert.match(textOf(outOfRange.body, 'field-position-error') ?? '', /position must be between 1 and 2/i)

    await teacher.open('/admin/courses/typography')
    const published = await teacher.submit('/admin/courses/typography', {
      title: 'Typography',
      slug: 'typography',
      description: 'Letters.',
      published: 'on',
    })
    assert.equal(published.statusCode, 303)
    const visitor = await createPageClient(t.app).open('/courses/typography')
    assert.equal(visitor.statusCode, 200)
    assert.match(visitor.body, /Leading and line height/)

    await teacher.open('/admin/courses/typography/parts/2/delete')
    assert.equal((await teacher.submit('/admin/courses/typography/parts/2/delete', {})).statusCode, 303)
    await teacher.open('/admin/courses/typography/delete')
    const gone = await teacher.submit('/admin/courses/typography/delete', {})
    assert.equal(gone.headers.location, '/admin?notice=content-deleted')
    assert.equal((await teacher.open('/admin/courses/typography')).statusCode, 404)
  })

  test('the large lesson form is refused before its body is read unless a staff member sends it', async () => {
    const learner = await signIn('ada')
    await learner.open('/me')
    // Over the route's 8 MiB: read first, it would be a 413; refused first, it is the 403.
    const big = await learner.submit('/admin/courses/web-fundamentals/parts', {
      title: 'x',
      body: 'y'.repeat(9 * 1024 * 1024),
    })
    assert.equal(big.statusCode, 403)
    const visitor = createPageClient(t.app)
    await visitor.open('/login')
    const anonymous = await visitor.submit('/admin/courses/web-fundamentals/parts', { title: 'x', body: 'y' })
    assert.equal(anonymous.statusCode, 303)
    assert.match(String(anonymous.headers.location), /^\/login/)
  })
})
