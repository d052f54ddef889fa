import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminsWithoutSecondFactor } from '../../src/modules/two-factor/admins-without-second-factor.ts'
import { createSecondFactors, secondFactorSources } from '../../src/modules/two-factor/second-factors.ts'
import { buildTestApp, withApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { codeNow, enableTotp, passwordStep, totpUser } from '../support/two-factor.ts'

const REQUIRED = 'Two-factor authentication required'

describe('REQUIRE_2FA_FOR', () => {
  test('admin: an admin without a second factor gets 403 from the API except /me, /logout and /2fa/*', () =>
    withApp({ env: { ...MANY_USERS_ENV, REQUIRE_2FA_FOR: 'admin' } }, async (t) => {
      const admin = await signedIn(t, 'admin')
      const refused = await admin.agent.get('/api/admin/users')
      assert.equal(refused.statusCode, 403)
      assert.equal((refused.json() as { error: string }).error, REQUIRED)
      assert.equal((await admin.agent.get('/api/courses')).statusCode, 403, 'public API routes too')
      assert.equal((await admin.agent.get('/api/me')).statusCode, 200)
      const denied = t.events('permission_denied').at(-1)!
      assert.equal((denied.extra as { reason: string }).reason, 'second_factor_required')
      // Setting it up is allowed, and once on, everything is.
      await enableTotp(t, admin)
      assert.equal((await admin.agent.get('/api/admin/users')).statusCode, 200)
      // A learner and an instructor are not concerned.
      const learner = await signedIn(t, 'learner')
      const instructor = await signedIn(t, 'instructor')
      assert.equal((await learner.agent.get('/api/courses')).statusCode, 200)
      assert.equal((await instructor.agent.get('/api/courses')).statusCode, 200)
      assert.equal((await admin.agent.post('/api/logout')).statusCode, 204)
    }))

  test('staff: instructors too; learners never; none (the default): nobody', async () => {
    await withApp({ env: { ...MANY_USERS_ENV, REQUIRE_2FA_FOR: 'staff' } }, async (t) => {
      const instructor = await signedIn(t, 'instructor')
      const admin = await signedIn(t, 'admin')
      const learner = await signedIn(t, 'learner')
      assert.equal((await instructor.agent.get('/api/courses')).statusCode, 403)
      assert.equal((await admin.agent.get('/api/courses')).statusCode, 403)
      assert.equal((await learner.agent.get('/api/courses')).statusCode, 200)
    })
    await withApp({ env: MANY_USERS_ENV }, async (t) => {
      const admin = await signedIn(t, 'admin')
      assert.equal((await admin.agent.get('/api/admin/users')).statusCode, 200)
    })
  })

  test('access before body: a refused account gets 403 whatever the body, and no attempt is counted', () =>
    withApp({ env: { ...MANY_USERS_ENV, REQUIRE_2FA_FOR: 'staff', RATE_LIMIT_PASSWORD_CHECK: '1/15m' } }, async (t) => {
      const instructor = await signedIn(t, 'instructor')
      for (const body of [
        { json: { x: 1 } },
        { payload: '{"broken', headers: { 'content-type': 'application/json' } },
        { payload: 'text', headers: { 'content-type': 'text/plain' } },
      ]) {
        const res = await instructor.agent.post('/api/courses', body)
        assert.equal(res.statusCode, 403, JSON.stringify(body))
        assert.equal((res.json() as { error: string }).error, REQUIRED)
      }
      for (let i = 0; i < 3; i++) {
        const res = await instructor.agent.post('/api/profile/password', { json: { nope: true } })
        assert.equal(res.statusCode, 403)
      }
      // The password-check limit (1) was never touched by the refused requests.
      await enableTotp(t, instructor)
      const wrong = await instructor.agent.post('/api/profile/password', {
        json: { current_password: 'wrong password', new_password: 'a new long passphrase' },
      })
      assert.equal(wrong.statusCode, 400)
    }))

  test('pages send the account to the set-up with a notice; the set-up pages and sign-out stay open', () =>
    withApp({ env: { ...MANY_USERS_ENV, REQUIRE_2FA_FOR: 'admin' } }, async (t) => {
      const admin = await signedIn(t, 'admin')
      for (const path of ['/', '/admin', '/me']) {
        const res = await admin.agent.get(path)
        assert.equal(res.statusCode, 303, path)
        assert.equal(res.headers.location, '/profile/two-factor?notice=two-factor-required')
      }
      const setup = await admin.agent.get('/profile/two-factor?notice=two-factor-required')
      assert.equal(setup.statusCode, 200)
      assert.match(setup.body, /Your role needs two-factor sign-in/)
      assert.equal((await admin.agent.get('/profile')).statusCode, 200)
    }))

  test('an admin signed in through the second step has the whole API', () =>
    withApp({ env: { ...MANY_USERS_ENV, REQUIRE_2FA_FOR: 'admin' } }, async (t) => {
      const admin = await totpUser(t, 'admin')
      const agent = await passwordStep(t, admin)
      assert.equal(
        (await agent.post('/api/login/2fa', { json: { code: await codeNow(t, admin.secret) } })).statusCode,
        200,
      )
      assert.equal((await agent.get('/api/admin/users')).statusCode, 200)
    }))

  test('an invalid REQUIRE_2FA_FOR stops start-up naming the variable', async () => {
    await assert.rejects(buildTestApp({ env: { REQUIRE_2FA_FOR: 'everyone' } }), /REQUIRE_2FA_FOR/)
  })
})

/** Every route the app answers, as [METHOD, /path], from Fastify's own route tree. */
function routesOf(app: FastifyInstance): Array<[string, string]> {
  const prefixes: string[] = []
  const routes: Array<[string, string]> = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^([│ ]*)(?:[├└]── )?(\S+)(?: \(([^)]+)\))?$/.exec(line)
    if (!node) continue
    const depth = node[1]!.length / 4
    const path = (depth === 0 ? '' : prefixes[depth - 1]!) + node[2]!
    prefixes[depth] = path
    for (const method of node[3]?.split(', ') ?? []) routes.push([method, path])
  }
  return routes
}

test('with REQUIRE_2FA_FOR, exactly /api/me, /api/logout, /api/2fa/* and /api/passkeys* stay open, every other /api route is 403', () =>
  withApp({ env: { ...MANY_USERS_ENV, REQUIRE_2FA_FOR: 'admin' } }, async (t) => {
    const admin = await signedIn(t, 'admin')
    const open = /^\/api\/(me|logout|2fa\/.*|passkeys.*)$/
    const api = routesOf(t.app)
      .filter(([method, path]) => path.startsWith('/api/') && method !== 'HEAD' && method !== 'OPTIONS')
      // Signing out last: it ends the session the others use.
      .sort(([, a], [, b]) => Number(a === '/api/logout') - Number(b === '/api/logout'))
    assert.ok(api.length > 20)
    for (const [method, path] of api) {
      const url = path.replace(/:[a-z_]+/g, '1')
      const res = await admin.agent.request({ method, url, ...(method === 'GET' ? {} : { json: {} }) })
      const refused = res.statusCode === 403 && res.body.includes(REQUIRED)
      assert.equal(refused, !open.test(path), `${method} ${path}: ${res.statusCode} ${res.body.slice(0, 120)}`)
    }
  }))

test('adminsWithoutSecondFactor: the active admins with no second factor, for the readiness check', () =>
  withApp({ env: MANY_USERS_ENV }, async (t) => {
    const guarded = await totpUser(t, 'admin', 'guarded')
    const bare = await signedIn(t, 'admin', 'bare')
    await signedIn(t, 'learner')
    const check = adminsWithoutSecondFactor({
      db: t.database.db,
      secondFactors: createSecondFactors(secondFactorSources({ db: t.database.db })),
    })
    const missing = await check()
    assert.ok(missing.includes(bare.username))
    assert.ok(!missing.includes(guarded.username))
    assert.equal(missing.length, 1)
  }))
