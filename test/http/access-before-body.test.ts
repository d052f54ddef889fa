import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'

/** Every page form that needs a signed-in user or a role, with a plausible body. */
const FORM_ROUTES: Array<{ path: string; fields: Record<string, string> }> = [
  { path: '/profile', fields: { display_name: 'X', bio: '', email: 'x@example.org' } },
  { path: '/profile/password', fields: { current_password: 'whatever', new_password: 'whatever else' } },
  { path: '/admin/courses', fields: { title: 'T', description: '' } },
  { path: '/admin/courses/intro/parts', fields: { title: 'T', body: 'B' } },
  { path: '/admin/users/1', fields: { role: 'admin' } },
  { path: '/courses/intro/lessons/1/quiz', fields: { q1: 'q1c1' } },
  { path: '/admin/courses/intro/owners', fields: { owners: 'someone' } },
  { path: '/admin/ebooks/intro/owners', fields: { owners: 'someone' } },
  { path: '/admin/invitations', fields: { emails: 'someone@example.org', role: 'learner', course: '' } },
  { path: '/admin/invitations/1/revoke', fields: {} },
  { path: '/profile/two-factor/enable', fields: { code: '123456' } },
  { path: '/profile/two-factor/disable', fields: { current_password: 'whatever' } },
  { path: '/admin/users/1/2fa', fields: {} },
  { path: '/profile/passkeys/1/delete', fields: {} },
]

describe('access is decided before any body is read or validated (CONTRACT §14)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ env: MANY_USERS_ENV })
  })
  after(() => t.close())

  const noErrorLines = () => {
    const errors = t.logs().filter((line) => line.level === 'ERROR' || line.event === 'unhandled_error')
    assert.deepEqual(errors, [], 'a refusal is never an ERROR line')
  }

  test('anonymous form posts (with or without a token) are sent to sign in: 303, never a stack', async () => {
    for (const { path, fields } of FORM_ROUTES) {
      for (const csrfIn of ['field', 'none'] as const) {
        const agent = createAgent(t)
        await agent.get('/login') // a session and a token, as a browser holding the page would have
        const res = await agent.post(path, {
          form: fields,
          ...(csrfIn === 'field' ? { csrfIn: 'field' as const } : { csrf: false }),
        })
        assert.equal(res.statusCode, 303, `${path} (${csrfIn}): ${res.body.slice(0, 200)}`)
        assert.match(String(res.headers.location), /^\/login/)
      }
    }
    const avatar = createAgent(t)
    const res = await avatar.post('/profile/avatar', {
      multipart: [{ name: 'avatar', filename: 'a.png', contentType: 'image/png', data: Buffer.from('x') }],
      csrfIn: 'field',
    })
    assert.equal(res.statusCode, 303)
    const media = await createAgent(t).post('/admin/media', {
      multipart: [{ name: 'file', filename: 'a.png', contentType: 'image/png', data: Buffer.from('x') }],
      csrfIn: 'field',
    })
    assert.equal(media.statusCode, 303)
    noErrorLines()
  })

  test("a learner's POST to an instructor route is 403 whatever its body, logged as permission_denied", async () => {
    const learner = await signedIn(t, 'learner')
    const bodies = [
      { json: { x: 1 } },
      { json: { title: 'A fine course', description: 'x' } },
      { payload: '{"broken', headers: { 'content-type': 'application/json' } },
      { payload: 'not json at all', headers: { 'content-type': 'text/plain' } },
    ]
    for (const body of bodies) {
      const res = await learner.agent.post('/api/courses', body)
      assert.equal(res.statusCode, 403, JSON.stringify(body))
      assert.equal(res.json().error, 'Forbidden')
    }
    const denied = t.events('permission_denied').filter((line) => line.user_id === learner.id)
    assert.equal(denied.length, bodies.length)
    // The page editor says the same, before its (large) form is parsed.
    const page = await learner.agent.post('/admin/courses', { form: { title: 'x' }, csrfIn: 'field' })
    assert.equal(page.statusCode, 403)
    noErrorLines()
  })

  test('signed out, the passkey and quiz API routes are 401 whatever their body or id, never 400', async () => {
    const anonymous = createAgent(t)
    const bodies = [{ json: { x: 1 } }, { payload: '{"broken', headers: { 'content-type': 'application/json' } }]
    for (const url of ['/api/passkeys', '/api/passkeys/registration/options', '/api/courses/intro/lessons/1/quiz']) {
      for (const body of bodies) {
        const res = await anonymous.post(url, body)
        assert.equal(res.statusCode, 401, `${url} ${JSON.stringify(body)}: ${res.body}`)
      }
    }
    for (const id of ['1', 'not-a-number', '-1']) {
      assert.equal((await anonymous.delete(`/api/passkeys/${id}`)).statusCode, 401, id)
    }
    assert.equal((await anonymous.get('/api/courses/intro/lessons/x/quiz/attempts')).statusCode, 401)
    noErrorLines()
  })

  test('a route that declares no access stops start-up', async () => {
    await assert.rejects(
      buildTestApp({ routes: (app) => app.get('/undeclared', async () => ({})) }),
      /GET \/undeclared: declare who may call it/,
    )
  })
})
