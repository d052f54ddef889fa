import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { testDatabaseUrl } from '../support/services.ts'

const postgresUrl = testDatabaseUrl()
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const
const PASSWORD = 'correct horse battery staple'
/** Every request here comes from one address: the rate limits have suites of their own. */
const GENEROUS_LIMITS = {
  RATE_LIMIT_LOGIN: '1000/15m',
  RATE_LIMIT_LOGIN_USER: '1000/15m',
  RATE_LIMIT_REGISTER: '1000/1h',
}

/**
 * The accounts flows on each database, with concurrent registrations racing for one name or
 * one email: the unique index decides, and the losers get 409, never 500.
 */
for (const kind of kinds) {
  describe(`accounts on ${kind}`, () => {
    let t: TestApp
    before(async () => {
      t = await buildTestApp({
        env: GENEROUS_LIMITS,
        database: kind,
        ...(kind === 'postgres' ? { postgresUrl } : {}),
      })
    })
    after(() => t.close())

    test('register, me, logout, login, profile, password: the whole round on this database', async () => {
      const agent = createAgent(t)
      const created = await agent.post('/api/register', {
        json: { username: 'Grace', email: 'grace@example.org', password: PASSWORD },
      })
      assert.equal(created.statusCode, 201, created.body)
      const { user } = created.json()
      assert.equal(user.created_at, new Date(t.clock.now()).toISOString())
      assert.equal((await agent.get('/api/me')).json().user.id, user.id)
      assert.equal((await agent.post('/api/logout')).statusCode, 204)
      const login = await agent.post('/api/login', { json: { username: 'GRACE', password: PASSWORD } })
      assert.equal(login.statusCode, 200, login.body)
      const patched = await agent.patch('/api/profile', {
        json: { display_name: 'Grace H.', email: 'G.Hopper@example.org' },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(patched.json().user.email, 'G.Hopper@example.org')
      const other = createAgent(t)
      await other.post('/api/login', { json: { username: 'grace', password: PASSWORD } })
      const changed = await agent.post('/api/profile/password', {
        json: { current_password: PASSWORD, new_password: 'a compiler of one’s own' },
      })
      assert.equal(changed.statusCode, 204, changed.body)
      assert.equal((await other.get('/api/me')).statusCode, 401)
      assert.equal((await agent.get('/api/me')).statusCode, 200)
    })

    test('concurrent registrations of one username (in different cases): one 201, the rest 409', async () => {
      const agents = Array.from({ length: 6 }, () => createAgent(t))
      await Promise.all(agents.map((agent) => agent.csrfToken()))
      const results = await Promise.all(
        agents.map((agent, i) =>
          agent.post('/api/register', {
            json: { username: i % 2 ? 'RACER' : 'racer', email: `racer${i}@example.org`, password: PASSWORD },
          }),
        ),
      )
      const statuses = results.map((res) => res.statusCode).sort()
      assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409], results.map((res) => res.body).join('\n'))
      for (const res of results.filter((r) => r.statusCode === 409)) {
        assert.equal(res.json().error, 'Username already taken')
      }
      assert.equal(t.events('unhandled_error').length, 0)
    })

    test('concurrent registrations of one email: one 201, the rest 409', async () => {
      const agents = Array.from({ length: 4 }, () => createAgent(t))
      await Promise.all(agents.map((agent) => agent.csrfToken()))
      const results = await Promise.all(
        agents.map((agent, i) =>
          agent.post('/api/register', {
            json: {
              username: `mailer${i}`,
              email: i % 2 ? 'SHARED@example.org' : 'shared@example.org',
              password: PASSWORD,
            },
          }),
        ),
      )
      assert.deepEqual(results.map((res) => res.statusCode).sort(), [201, 409, 409, 409])
      for (const res of results.filter((r) => r.statusCode === 409)) {
        assert.equal(res.json().error, 'Email address already registered')
      }
    })

    test('two users moving to one email at once: one 200, one 409', async () => {
      const [a, b] = [createAgent(t), createAgent(t)]
      await a.post('/api/register', { json: { username: 'mover_a', email: 'a@example.org', password: PASSWORD } })
      await b.post('/api/register', { json: { username: 'mover_b', email: 'b@example.org', password: PASSWORD } })
      const results = await Promise.all([
        a.patch('/api/profile', { json: { email: 'Wanted@example.org' } }),
        b.patch('/api/profile', { json: { email: 'wanted@EXAMPLE.org' } }),
      ])
      assert.deepEqual(results.map((res) => res.statusCode).sort(), [200, 409])
      assert.equal(t.events('unhandled_error').length, 0)
    })
  })
}
