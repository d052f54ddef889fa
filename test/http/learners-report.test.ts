/**
 * GET /api/courses/:slug/learners (CONTRACT §12), on SQLite and PostgreSQL: owners and admins
 * only (others 403 permission_denied, signed out 401), each learner's progress, last activity and
 * best quiz score (injected), ?sort=name|progress|last_activity, and ?format=csv with a header
 * row, RFC 4180 escaping and the formula-injection guard.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { parse } from 'csv-parse/sync'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'

const MINUTE_MS = 60_000

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`learners report on ${kind}`, () => {
    let t: TestApp
    let admin: SignedInUser
    let owner: SignedInUser
    let other: SignedInUser
    let ada: SignedInUser
    let bob: SignedInUser
    let eve: SignedInUser
    let courseId: number
    const quizScores = new Map<number, number>()
    const asked: number[] = []

    before(async () => {
      t = await buildTestApp({
        env: MANY_USERS_ENV,
        database: kind,
        ...(kind === 'postgres' ? { postgresUrl } : {}),
        deps: {
          quizBestPercents: async (id) => {
            asked.push(id)
            return quizScores
          },
        },
      })
      admin = await signedIn(t, 'admin')
      owner = await signedIn(t, 'instructor', 'owner')
      other = await signedIn(t, 'instructor', 'other')
      ada = await signedIn(t, 'learner', 'ada')
      bob = await signedIn(t, 'learner', 'bob')
      eve = await signedIn(t, 'learner', 'eve')
      const created = await owner.agent.post('/api/courses', {
        json: { title: 'Reported', slug: 'reported', published: true },
      })
      assert.equal(created.statusCode, 201, created.body)
      for (const title of ['One', 'Two', 'Three', 'Four']) {
        assert.equal(
          (await owner.agent.post('/api/courses/reported/lessons', { json: { title, body: 'x' } })).statusCode,
          201,
        )
      }
      courseId = (
        await t.database.db.selectFrom('courses').select('id').where('slug', '=', 'reported').executeTakeFirstOrThrow()
      ).id
      // eve: enrolled first, one lesson; ada: three lessons, later; bob: enrolled last, nothing done.
      assert.equal((await eve.agent.post('/api/courses/reported/lessons/1/complete')).statusCode, 200)
      t.clock.advance(10 * MINUTE_MS)
      for (const n of [1, 2, 3])
        assert.equal((await ada.agent.post(`/api/courses/reported/lessons/${n}/complete`)).statusCode, 200)
      t.clock.advance(10 * MINUTE_MS)
      assert.equal((await bob.agent.post('/api/courses/reported/enroll')).statusCode, 200)
      // A display name a spreadsheet would take for a formula, with a comma and a quote.
      const renamed = await eve.agent.patch('/api/profile', { json: { display_name: '=HYPERLINK("x"), eve' } })
      assert.equal(renamed.statusCode, 200, renamed.body)
      quizScores.set(ada.id, 75)
    })
    after(() => t.close())

    const report = (who: SignedInUser, query = '') => who.agent.get(`/api/courses/reported/learners${query}`)

    test('the owner and an admin get every enrolled learner with progress, activity and quiz score', async () => {
      for (const who of [owner, admin]) {
        const res = await report(who)
        assert.equal(res.statusCode, 200, res.body)
        const { learners } = res.json()
        assert.deepEqual(
          learners.map((l: { user: { username: string } }) => l.user.username),
          [ada.username, bob.username, eve.username],
        )
        const start = Date.UTC(2026, 0, 15, 12, 0, 0)
        assert.deepEqual(learners[0], {
          user: { id: ada.id, username: ada.username, display_name: '' },
          enrolled_at: new Date(start + 10 * MINUTE_MS).toISOString(),
          completed: 3,
          total: 4,
          percent: 75,
          last_activity_at: new Date(start + 10 * MINUTE_MS).toISOString(),
          quiz_best_percent: 75,
        })
        assert.equal(learners[1].completed, 0)
        assert.equal(learners[1].quiz_best_percent, null)
        assert.equal(learners[2].user.display_name, '=HYPERLINK("x"), eve')
        assert.equal(learners[2].percent, 25)
      }
      assert.ok(asked.every((id) => id === courseId))
    })

    test('?sort=progress (most first), ?sort=last_activity (latest first), ?sort=name; anything else 400', async () => {
      const order = async (sort: string) =>
        (await report(owner, `?sort=${sort}`)).json().learners.map((l: { user: { id: number } }) => l.user.id)
      assert.deepEqual(await order('progress'), [ada.id, eve.id, bob.id])
      assert.deepEqual(await order('last_activity'), [bob.id, ada.id, eve.id])
      assert.deepEqual(await order('name'), [ada.id, bob.id, eve.id])
      assert.equal((await report(owner, '?sort=email')).statusCode, 400)
      assert.equal((await report(owner, '?format=xml')).statusCode, 400)
    })

    test('another instructor and a learner: 403 logged permission_denied; signed out: 401', async () => {
      for (const who of [other, ada]) {
        const before = t.events('permission_denied').length
        const res = await report(who)
        assert.equal(res.statusCode, 403)
        assert.equal(t.events('permission_denied').length, before + 1)
      }
      const anonymous = await t.app.inject({ url: '/api/courses/reported/learners' })
      assert.equal(anonymous.statusCode, 401)
      assert.equal(
        (await report(owner, '').then(() => admin.agent.get('/api/courses/nothing-here/learners'))).statusCode,
        404,
      )
    })

    test('?format=csv: text/csv attachment, a header row, escaping and the formula guard', async () => {
      const res = await report(owner, '?format=csv&sort=progress')
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
      assert.equal(res.headers['content-disposition'], 'attachment; filename="reported-learners.csv"')
      const rows = parse(res.body) as string[][]
      assert.deepEqual(rows[0], [
        'user_id',
        'username',
        'display_name',
        'enrolled_at',
        'completed',
        'total',
        'percent',
        'last_activity_at',
        'quiz_best_percent',
      ])
      assert.deepEqual(
        rows.slice(1).map((row) => [row[1], row[4], row[6], row[8]]),
        [
          [ada.username, '3', '75', '75'],
          [eve.username, '1', '25', ''],
          [bob.username, '0', '0', ''],
        ],
      )
      // The display name: quoted (comma, quote doubled) and defused with a leading apostrophe.
      assert.equal(rows[2]![2], `'=HYPERLINK("x"), eve`)
      assert.ok(res.body.includes(`"'=HYPERLINK(""x""), eve"`))
      assert.ok(res.body.endsWith('\r\n'))
    })
  })
}
