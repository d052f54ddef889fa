import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { createAdminRepository } from '../../src/modules/admin/admin.repository.ts'
import { LAST_ADMIN_MESSAGE } from '../../src/modules/admin/admin.service.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import {
  createWork,
  databaseKinds,
  MANY_USERS_ENV,
  PASSWORD,
  setRole,
  signedIn,
  type SignedInUser,
} from '../support/factories.ts'

const ADMIN_USER_KEYS = [
  'avatar_url',
  'bio',
  'created_at',
  'disabled',
  'display_name',
  'email',
  'email_verified',
  'id',
  'role',
  'two_factor_enabled',
  'username',
]

type Line = Record<string, unknown> & { extra?: Record<string, unknown> }

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`admin API on ${kind} (CONTRACT §5 "Admin")`, () => {
    let t: TestApp
    let admin: SignedInUser

    before(async () => {
      t = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
      admin = await signedIn(t, 'admin', 'boss')
    })
    after(() => t.close())

    const adminActions = () => t.events('admin_action') as Line[]
    const signedInAgain = async (user: SignedInUser) => {
      const agent = createAgent(t)
      const res = await agent.post('/api/login', { json: { username: user.username, password: user.password } })
      return { agent, status: res.statusCode }
    }

    describe('access', () => {
      test('signed out: 401 on every admin route', async () => {
        const anonymous = createAgent(t)
        assert.equal((await anonymous.get('/api/admin/users')).statusCode, 401)
        assert.equal(
          (await anonymous.patch(`/api/admin/users/${admin.id}`, { json: { role: 'learner' } })).statusCode,
          401,
        )
        assert.equal((await anonymous.delete(`/api/admin/users/${admin.id}`)).statusCode, 401)
      })

      test('learners and instructors: 403, each logged as permission_denied, nothing changes', async () => {
        for (const role of ['learner', 'instructor'] as const) {
          const user = await signedIn(t, role)
          for (const request of [
            { method: 'GET', url: '/api/admin/users' },
            { method: 'PATCH', url: `/api/admin/users/${user.id}`, json: { role: 'admin' } },
            { method: 'DELETE', url: `/api/admin/users/${admin.id}` },
          ]) {
            const before = t.events('permission_denied').length
            const res = await user.agent.request(request)
            assert.equal(res.statusCode, 403, `${role} ${request.method}`)
            const denied = t.events('permission_denied').slice(before) as Line[]
            assert.equal(denied.length, 1)
            assert.equal(denied[0]?.extra?.required, 'admin')
            assert.equal(denied[0]?.extra?.role, role)
          }
          const me = (await user.agent.get('/api/me')).json().user
          assert.equal(me.role, role, 'no self-promotion')
        }
        assert.equal((await admin.agent.get('/api/me')).statusCode, 200, 'the admin is still there')
      })
    })

    describe('GET /api/admin/users', () => {
      test('lists users with the accounts presenter’s fields plus disabled, never a hash', async () => {
        const res = await admin.agent.get('/api/admin/users')
        assert.equal(res.statusCode, 200)
        const { users } = res.json()
        const me = users.find((u: { id: number }) => u.id === admin.id)
        assert.deepEqual(Object.keys(me).sort(), ADMIN_USER_KEYS)
        assert.equal(me.role, 'admin')
        assert.equal(me.disabled, false)
        assert.doesNotMatch(res.body, /argon2|password/i)
      })

      test('paginates with page and per_page, oldest first, and says how many there are', async () => {
        for (let i = 0; i < 3; i++) await signedIn(t, 'learner', 'paged')
        const all = (await admin.agent.get('/api/admin/users?per_page=100')).json()
        assert.equal(all.total, all.users.length)
        const ids = all.users.map((u: { id: number }) => u.id)
        assert.deepEqual(
          ids,
          [...ids].sort((a: number, b: number) => a - b),
        )

        const first = (await admin.agent.get('/api/admin/users?per_page=2&page=1')).json()
        const second = (await admin.agent.get('/api/admin/users?per_page=2&page=2')).json()
        assert.deepEqual(
          [...first.users, ...second.users].map((u: { id: number }) => u.id),
          ids.slice(0, 4),
        )
        assert.equal(first.total, all.total)
        assert.equal(first.page, 1)
        assert.equal(second.per_page, 2)
        const beyond = (await admin.agent.get(`/api/admin/users?per_page=2&page=${all.total + 1}`)).json()
        assert.deepEqual(beyond.users, [])
      })

      test('searches username and email, ignoring case; % and _ are plain characters', async () => {
        const ada = await signedIn(t, 'learner', 'AdaSearch')
        await signedIn(t, 'learner', 'grace_search')
        const byName = (await admin.agent.get('/api/admin/users?q=adasearch')).json()
        assert.deepEqual(
          byName.users.map((u: { id: number }) => u.id),
          [ada.id],
        )
        assert.equal(byName.total, 1)
        const byEmail = (
          await admin.agent.get(`/api/admin/users?q=${encodeURIComponent(ada.email.toUpperCase())}`)
        ).json()
        assert.deepEqual(
          byEmail.users.map((u: { id: number }) => u.id),
          [ada.id],
        )
        assert.equal((await admin.agent.get('/api/admin/users?q=%25')).json().total, 0, 'a literal % matches nobody')
        const underscore = (await admin.agent.get('/api/admin/users?q=e_s')).json()
        assert.ok(underscore.users.every((u: { username: string }) => u.username.toLowerCase().includes('e_s')))
        assert.equal(underscore.total, 1)
      })

      test('per_page above 100, page 0 or a non-number is 400', async () => {
        for (const query of ['per_page=101', 'page=0', 'page=two']) {
          assert.equal((await admin.agent.get(`/api/admin/users?${query}`)).statusCode, 400, query)
        }
      })
    })

    describe('PATCH /api/admin/users/:id', () => {
      test('a promotion answers the user, takes effect in their open session, and logs admin_action', async () => {
        const user = await signedIn(t, 'learner', 'promoted')
        const before = await user.agent.post('/api/courses', { json: { slug: `pre-${user.id}`, title: 'Not yet' } })
        assert.equal(before.statusCode, 403)
        const res = await admin.agent.patch(`/api/admin/users/${user.id}`, { json: { role: 'instructor' } })
        assert.equal(res.statusCode, 200)
        assert.equal(res.json().user.role, 'instructor')
        assert.equal(res.json().user.id, user.id)
        assert.equal((await user.agent.get('/api/me')).json().user.role, 'instructor', 'the session goes on')

        const line = adminActions().at(-1)!
        assert.equal(line.user_id, admin.id)
        assert.deepEqual(line.extra, {
          action: 'update_user',
          actor_id: admin.id,
          target_id: user.id,
          change: { role: { from: 'learner', to: 'instructor' } },
          outcome: 'done',
          signed_out: 0,
        })
        const course = await user.agent.post('/api/courses', { json: { slug: `by-${user.id}`, title: 'Mine' } })
        assert.equal(course.statusCode, 201, 'the new role works at once, without signing in again')
      })

      test('a demotion ends every session of the user at once; signed in again, the lower role applies', async () => {
        const user = await signedIn(t, 'instructor', 'demoted')
        const laptop = await signedInAgain(user)
        assert.equal(laptop.status, 200)
        const res = await admin.agent.patch(`/api/admin/users/${user.id}`, { json: { role: 'learner' } })
        assert.equal(res.statusCode, 200)
        assert.equal((await user.agent.get('/api/me')).statusCode, 401, 'the old session is gone')
        assert.equal((await laptop.agent.get('/api/me')).statusCode, 401)
        assert.equal(adminActions().at(-1)?.extra?.signed_out, 2)
        const again = await signedInAgain(user)
        const course = await again.agent.post('/api/courses', { json: { slug: `by-${user.id}`, title: 'Mine' } })
        assert.equal(course.statusCode, 403)
      })

      test('disabling ends every session at once and refuses login; enabling lets them back', async () => {
        const user = await signedIn(t, 'learner', 'paused')
        const laptop = await signedInAgain(user)
        assert.equal(laptop.status, 200)

        const off = await admin.agent.patch(`/api/admin/users/${user.id}`, { json: { disabled: true } })
        assert.equal(off.statusCode, 200)
        assert.equal(off.json().user.disabled, true)
        assert.equal((await user.agent.get('/api/me')).statusCode, 401)
        assert.equal((await laptop.agent.get('/api/me')).statusCode, 401)
        assert.equal((await signedInAgain(user)).status, 403)
        assert.deepEqual(adminActions().at(-1)?.extra?.change, { disabled: { from: false, to: true } })
        assert.equal(adminActions().at(-1)?.extra?.signed_out, 2)

        const on = await admin.agent.patch(`/api/admin/users/${user.id}`, { json: { disabled: false } })
        assert.equal(on.json().user.disabled, false)
        assert.equal((await signedInAgain(user)).status, 200)
      })

      test('a change to nothing is answered and logged, and ends no session', async () => {
        const user = await signedIn(t, 'learner', 'same')
        const res = await admin.agent.patch(`/api/admin/users/${user.id}`, {
          json: { role: 'learner', disabled: false },
        })
        assert.equal(res.statusCode, 200)
        assert.equal((await user.agent.get('/api/me')).statusCode, 200)
        assert.deepEqual(adminActions().at(-1)?.extra?.change, {})
      })

      test('only role and disabled: other fields, bad values, an empty body are 400; an unknown id is 404', async () => {
        const user = await signedIn(t, 'learner', 'strict')
        for (const [body, message] of [
          [{ username: 'root' }, /^Unknown field: username$/],
          [{ role: 'superuser' }, /^role must be equal to one of the allowed values$/],
          [{ disabled: 'yes' }, /^disabled must be boolean$/],
          [{}, /fewer than 1 properties/],
        ] as const) {
          const res = await admin.agent.patch(`/api/admin/users/${user.id}`, { json: body })
          assert.equal(res.statusCode, 400, JSON.stringify(body))
          assert.match(res.json().error, message)
        }
        const missing = await admin.agent.patch('/api/admin/users/999999', { json: { role: 'admin' } })
        assert.equal(missing.statusCode, 404)
        assert.equal(missing.json().error, 'User not found')
        assert.equal((await admin.agent.patch('/api/admin/users/abc', { json: { role: 'admin' } })).statusCode, 400)
      })
    })

    describe('DELETE /api/admin/users/:id', () => {
      test('204; the user, their sessions and all their progress are gone; logged', async () => {
        const user = await signedIn(t, 'learner', 'leaving')
        const course = `gone-${user.id}`
        const book = `gone-book-${user.id}`
        await createWork(t.database.db, 'course', { slug: course, parts: ['A'] })
        await createWork(t.database.db, 'ebook', { slug: book, parts: ['A'] })
        await user.agent.post(`/api/courses/${course}/lessons/1/complete`)
        await user.agent.put(`/api/ebooks/${book}/progress`, { json: { chapter: 1, position: 0.5 } })
        const rows = async () => {
          const db = t.database.db
          const count = async (table: 'enrollments' | 'lesson_completions' | 'reading_positions' | 'sessions') =>
            (await db.selectFrom(table).select('user_id').where('user_id', '=', user.id).execute()).length
          return [
            await count('enrollments'),
            await count('lesson_completions'),
            await count('reading_positions'),
            await count('sessions'),
          ]
        }
        assert.deepEqual(await rows(), [1, 1, 1, 1])

        const res = await admin.agent.delete(`/api/admin/users/${user.id}`)
        assert.equal(res.statusCode, 204)
        assert.equal(res.body, '')
        assert.deepEqual(await rows(), [0, 0, 0, 0])
        assert.equal((await user.agent.get('/api/me')).statusCode, 401)
        assert.deepEqual(adminActions().at(-1)?.extra, {
          action: 'delete_user',
          actor_id: admin.id,
          target_id: user.id,
          change: { deleted: { username: user.username, role: 'learner' } },
          outcome: 'done',
          signed_out: 0,
        })
        assert.equal((await admin.agent.delete(`/api/admin/users/${user.id}`)).statusCode, 404)
        assert.equal((await createAgent(t).get(`/api/courses/${course}`)).statusCode, 200, 'the course stays')
      })
    })

    describe('the last admin', () => {
      test('the only active admin cannot demote, disable or delete themselves (409, logged as refused)', async () => {
        const t2 = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
        try {
          const only = await signedIn(t2, 'admin', 'only')
          for (const [method, json] of [
            ['PATCH', { role: 'instructor' }],
            ['PATCH', { disabled: true }],
            ['PATCH', { role: 'learner', disabled: true }],
            ['DELETE', undefined],
          ] as const) {
            const res = await only.agent.request({ method, url: `/api/admin/users/${only.id}`, json })
            assert.equal(res.statusCode, 409, `${method} ${JSON.stringify(json)}`)
            assert.equal(res.json().error, LAST_ADMIN_MESSAGE)
            const line = (t2.events('admin_action') as Line[]).at(-1)
            assert.equal(line?.extra?.outcome, 'refused')
            assert.equal(line?.extra?.reason, 'last_admin')
            assert.equal(line?.extra?.target_id, only.id)
          }
          const me = (await only.agent.get('/api/me')).json().user
          assert.equal(me.role, 'admin')

          // A disabled admin does not count: they cannot sign in to help.
          const dormant = await signedIn(t2, 'learner', 'dormant')
          await setRole(t2.database.db, dormant.id, 'admin')
          await t2.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', dormant.id).execute()
          assert.equal(
            (await only.agent.patch(`/api/admin/users/${only.id}`, { json: { role: 'learner' } })).statusCode,
            409,
          )

          // With a second active admin, either may step down, and then the other is the last.
          const second = await signedIn(t2, 'admin', 'second')
          const down = await only.agent.patch(`/api/admin/users/${second.id}`, { json: { role: 'learner' } })
          assert.equal(down.statusCode, 200)
          assert.equal((await only.agent.delete(`/api/admin/users/${only.id}`)).statusCode, 409)
          await setRole(t2.database.db, second.id, 'admin')
          const stepDown = await only.agent.patch(`/api/admin/users/${only.id}`, { json: { role: 'instructor' } })
          assert.equal(stepDown.statusCode, 200)
          assert.equal((await only.agent.get('/api/me')).statusCode, 401, 'their own session ended with their role')
        } finally {
          await t2.close()
        }
      })

      test('two admins demoting each other at the same moment: exactly one succeeds', async () => {
        const t3 = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
        try {
          const a = await signedIn(t3, 'admin', 'racer')
          const b = await signedIn(t3, 'admin', 'racer')
          const [ab, ba] = await Promise.all([
            a.agent.patch(`/api/admin/users/${b.id}`, { json: { role: 'learner' } }),
            b.agent.patch(`/api/admin/users/${a.id}`, { json: { role: 'learner' } }),
          ])
          const statuses = [ab.statusCode, ba.statusCode].sort()
          // The loser is refused as the last admin (409), or, when the winner's change landed
          // first, arrives with their session already ended (401) or their role gone (403).
          assert.equal(statuses[0], 200, `${ab.body} / ${ba.body}`)
          assert.ok([401, 403, 409].includes(statuses[1]!), `${ab.body} / ${ba.body}`)
          const admins = await t3.database.db
            .selectFrom('users')
            .select('id')
            .where('role', '=', 'admin')
            .where('disabled', '=', 0)
            .execute()
          assert.equal(admins.length, 1)
        } finally {
          await t3.close()
        }
      })
    })

    // SQLite serialises write transactions, so there is no row lock to observe there.
    const onPostgres = kind === 'postgres' ? test : () => {}
    void onPostgres('on PostgreSQL the active admins stay locked while a change is decided', async () => {
      const db = t.database.db
      await db.transaction().execute(async (first) => {
        assert.ok((await createAdminRepository(first).lockActiveAdminIds()).includes(admin.id))
        await assert.rejects(
          db.transaction().execute(async (second) => {
            await sql`set local lock_timeout = '200ms'`.execute(second)
            await createAdminRepository(second).lockActiveAdminIds()
          }),
          (error: { code?: string }) => error.code === '55P03', // lock_not_available
        )
      })
    })

    test('admin_action lines never carry secrets and match the log schema', async () => {
      const user = await signedIn(t, 'learner', 'audited')
      await admin.agent.patch(`/api/admin/users/${user.id}`, { json: { role: 'instructor' } })
      const lines = t.logs().filter((line) => line.event === 'admin_action')
      assert.ok(lines.length > 0)
      assert.doesNotMatch(JSON.stringify(lines), new RegExp(PASSWORD))
    })
  })
}
