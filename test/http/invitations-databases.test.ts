import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, databaseKinds, MANY_USERS_ENV, PASSWORD, signedIn } from '../support/factories.ts'

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The invitations repository on each database: issuing (one working link per address), the
 * pending list with its joins, single use under a race (the one UPDATE decides), revocation,
 * expiry, and the account made in the same transaction with its role, address and course.
 */
for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`invitations on ${kind}`, () => {
    let t: TestApp
    let admin: Agent
    before(async () => {
      t = await buildTestApp({ env: { ...MANY_USERS_ENV, REGISTRATION: 'open' }, database: kind, postgresUrl })
      admin = (await signedIn(t, 'admin')).agent
      await createWork(t.database.db, 'course', { slug: 'intro', title: 'Intro', parts: ['One'] })
    })
    after(() => t.close())

    async function invite(emails: string[], extra: Record<string, unknown> = {}) {
      const res = await admin.post('/api/admin/invitations', { json: { emails, ...extra } })
      assert.equal(res.statusCode, 201, res.body)
      const body = res.json() as { invitations: Array<{ email: string; invite_url: string }>; errors: unknown[] }
      return body.invitations.map((i) => ({ email: i.email, token: i.invite_url.split('/').at(-1)! }))
    }

    test('issue, list, re-issue: one pending invitation per address, with its course and inviter', async () => {
      await invite(['Kim@Example.org', 'kim@example.org'], { course: 'intro', role: 'instructor' })
      await invite(['KIM@example.org'], { course: 'intro' })
      const pending = (await admin.get('/api/admin/invitations')).json().invitations
      const kims = pending.filter((i: { email: string }) => i.email.toLowerCase() === 'kim@example.org')
      assert.equal(kims.length, 1)
      assert.equal(kims[0].role, 'learner')
      assert.equal(kims[0].course, 'intro')
      assert.match(kims[0].invited_by, /^admin/)
    })

    test('the race: one address invited by 30 requests at once (a double-clicked form, two admins) is one working link', async () => {
      const answers = await Promise.all(
        Array.from({ length: 30 }, () =>
          admin.post('/api/admin/invitations', { json: { emails: ['Twice@example.org'] } }),
        ),
      )
      assert.deepEqual(
        answers.map((res) => res.statusCode),
        answers.map(() => 201),
      )
      const pending = (await admin.get('/api/admin/invitations')).json().invitations
      assert.equal(pending.filter((i: { email: string }) => i.email === 'Twice@example.org').length, 1)
      const rows = await t.database.db
        .selectFrom('invitations')
        .select('id')
        .where('email_lower', '=', 'twice@example.org')
        .execute()
      assert.equal(rows.length, 1, 'a revoked pending invitation would leave another link working')
    })

    test('accept: the account, its role, its verified address and its course, in one transaction', async () => {
      const { token } = (await invite(['jo@example.org'], { course: 'intro', role: 'instructor' }))[0]!
      const agent = createAgent(t)
      const res = await agent.post('/api/register', {
        json: { invitation: token, username: 'joan', password: PASSWORD },
      })
      assert.equal(res.statusCode, 201, res.body)
      const user = res.json().user
      assert.equal(user.role, 'instructor')
      assert.equal(user.email_verified, true)
      const enrolled = await t.database.db
        .selectFrom('enrollments')
        .select('course_id')
        .where('user_id', '=', user.id)
        .execute()
      assert.equal(enrolled.length, 1)
      const row = await t.database.db
        .selectFrom('invitations')
        .select(['used_at', 'user_id'])
        .where('email_lower', '=', 'jo@example.org')
        .executeTakeFirstOrThrow()
      assert.equal(Number(row.used_at), t.clock.now())
      assert.equal(row.user_id, user.id)
      // Audited: the invitation and its acceptance are rows of the audit trail, without the token.
      await t.app.audit.writer.flush()
      const audited = await t.database.db
        .selectFrom('audit_events')
        .select(['event', 'user_id', 'extra'])
        .where('event', 'in', ['invitation_accepted', 'admin_action'])
        .execute()
      const accepted = audited.find((r) => r.event === 'invitation_accepted')
      assert.ok(accepted, JSON.stringify(audited))
      assert.equal(JSON.parse(accepted.extra).target_user_id, user.id)
      assert.ok(audited.some((r) => r.event === 'admin_action' && JSON.parse(r.extra).action === 'invite'))
      assert.ok(!JSON.stringify(audited).includes(token))
    })

    test('the race: ten registrations at once with one invitation, exactly one 201, never a 500', async () => {
      const { token } = (await invite(['race@example.org']))[0]!
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          createAgent(t).post('/api/register', {
            json: { invitation: token, username: `racer${i}`, password: PASSWORD },
          }),
        ),
      )
      const statuses = results.map((r) => r.statusCode)
      assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(','))
      assert.ok(
        statuses.every((s) => s === 201 || s === 400),
        statuses.join(','),
      )
      const racers = await t.database.db
        .selectFrom('users')
        .select('id')
        .where('email_lower', '=', 'race@example.org')
        .execute()
      assert.equal(racers.length, 1)
    })

    test('revoke and expiry', async () => {
      const [gone, late] = await invite(['gone@example.org', 'late@example.org'])
      const pending = (await admin.get('/api/admin/invitations')).json().invitations
      const id = pending.find((i: { email: string }) => i.email === 'gone@example.org').id
      assert.equal((await admin.delete(`/api/admin/invitations/${id}`)).statusCode, 204)
      assert.equal((await createAgent(t).get(`/api/invitations/${gone!.token}`)).statusCode, 404)
      assert.equal((await createAgent(t).get(`/api/invitations/${late!.token}`)).statusCode, 200)
      t.clock.advance(7 * DAY_MS)
      assert.equal((await createAgent(t).get(`/api/invitations/${late!.token}`)).statusCode, 404)
    })
  })
}
