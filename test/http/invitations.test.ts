import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { withApp, type TestApp } from '../support/app.ts'
import { createWork, insertAccount, MANY_USERS_ENV, PASSWORD, signedIn } from '../support/factories.ts'

const PUBLIC_URL = 'https://learn.example.org'
const DAY_MS = 24 * 60 * 60 * 1000
const INVITE_LINK = /^https:\/\/learn\.example\.org\/invite\/([A-Za-z0-9_-]+)$/
const INVALID = 'Invalid or expired invitation'

interface Invited {
  email: string
  invite_url: string
  expires_at: string
}

async function invite(
  admin: Agent,
  body: Record<string, unknown>,
): Promise<{ invitations: Invited[]; errors: Array<{ email: string; error: string }> }> {
  const res = await admin.post('/api/admin/invitations', { json: body })
  assert.equal(res.statusCode, 201, res.body)
  return res.json()
}

/** The token of an invitation's link. */
function tokenOf(invited: Invited): string {
  const match = INVITE_LINK.exec(invited.invite_url)
  assert.ok(match, invited.invite_url)
  return match[1]!
}

async function inviteOne(admin: Agent, email: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { invitations } = await invite(admin, { emails: [email], ...extra })
  assert.equal(invitations.length, 1)
  return tokenOf(invitations[0]!)
}

function registerWith(agent: Agent, invitation: string, username: string, password = PASSWORD) {
  return agent.post('/api/register', { json: { invitation, username, password } })
}

const env = (extra: Record<string, string> = {}) => ({ env: { ...MANY_USERS_ENV, PUBLIC_URL, ...extra } })

async function adminOf(t: TestApp) {
  return (await signedIn(t, 'admin')).agent
}

describe('POST /api/admin/invitations (CONTRACT §15)', () => {
  test('201: a link per address under PUBLIC_URL, 256 random bits, valid 7 days; only its hash is stored', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const { invitations, errors } = await invite(admin, { emails: ['ada@example.org', 'grace@example.org'] })
      assert.deepEqual(errors, [])
      assert.deepEqual(
        invitations.map((i) => i.email),
        ['ada@example.org', 'grace@example.org'],
      )
      for (const invited of invitations) {
        assert.equal(tokenOf(invited).length, 43) // 32 bytes in base64url
        assert.equal(invited.expires_at, new Date(t.clock.now() + 7 * DAY_MS).toISOString())
      }
      assert.notEqual(tokenOf(invitations[0]!), tokenOf(invitations[1]!))
      const rows = await t.database.db.selectFrom('invitations').selectAll().execute()
      const stored = JSON.stringify(rows)
      for (const invited of invitations) assert.ok(!stored.includes(tokenOf(invited)), 'a token is stored')
      assert.ok(rows.every((row) => /^[0-9a-f]{64}$/.test(row.token_hash)))
      const [line] = t.events('admin_action').filter((e) => (e.extra as any).action === 'invite')
      assert.equal((line!.extra as any).invited, 2)
      assert.equal((line!.extra as any).role, 'learner')
    }))

  test('addresses are compared without case: Bob@X.org and bob@x.org are one, invited once, as first written', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const { invitations } = await invite(admin, { emails: ['Bob@X.org', 'bob@x.org', 'BOB@x.ORG', 'carol@x.org'] })
      assert.deepEqual(
        invitations.map((i) => i.email),
        ['Bob@X.org', 'carol@x.org'],
      )
      // Inviting the address again replaces its pending invitation: one working link per address.
      const first = tokenOf(invitations[0]!)
      const again = await inviteOne(admin, 'BOB@x.org')
      assert.equal((await createAgent(t).get(`/api/invitations/${first}`)).statusCode, 404)
      assert.equal((await createAgent(t).get(`/api/invitations/${again}`)).statusCode, 200)
      const pending = (await admin.get('/api/admin/invitations')).json().invitations
      assert.deepEqual(pending.map((i: { email: string }) => i.email).sort(), ['BOB@x.org', 'carol@x.org'])
    }))

  test('an address with an account is refused in `errors` (whatever its case); the others are invited', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const learner = await signedIn(t, 'learner', 'taken')
      const { invitations, errors } = await invite(admin, {
        emails: [learner.email.toUpperCase(), 'new@example.org'],
      })
      assert.deepEqual(errors, [{ email: learner.email.toUpperCase(), error: 'Email address already registered' }])
      assert.deepEqual(
        invitations.map((i) => i.email),
        ['new@example.org'],
      )
    }))

  test('500 addresses are invited; 501 are a 400 and nobody is invited', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const emails = (n: number) => Array.from({ length: n }, (_, i) => `pupil${i}@school.example`)
      const over = await admin.post('/api/admin/invitations', { json: { emails: emails(501) } })
      assert.equal(over.statusCode, 400)
      const count = async () =>
        Number(
          (
            await t.database.db
              .selectFrom('invitations')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      assert.equal(await count(), 0)
      const { invitations } = await invite(admin, { emails: emails(500) })
      assert.equal(invitations.length, 500)
      assert.equal(await count(), 500)
    }))

  test('400: an unknown course, an unknown role, an admin role, a bad address, an unknown field, no address', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const bad = async (json: unknown) => {
        const res = await admin.post('/api/admin/invitations', { json })
        assert.equal(res.statusCode, 400, JSON.stringify(json))
        return res.json().error as string
      }
      assert.equal(await bad({ emails: ['a@example.org'], course: 'no-such-course' }), 'Unknown course')
      await bad({ emails: ['a@example.org'], role: 'admin' })
      await bad({ emails: ['a@example.org'], role: 'wizard' })
      await bad({ emails: ['not an address'] })
      await bad({ emails: ['a@example.org'], is_admin: true })
      await bad({ emails: [] })
      await bad({})
      assert.equal(await t.database.db.selectFrom('invitations').select('id').executeTakeFirst(), undefined)
    }))

  test('access before body: signed out 401, a learner or instructor 403, whatever the body', () =>
    withApp(env(), async (t) => {
      const learner = await signedIn(t, 'learner')
      const instructor = await signedIn(t, 'instructor')
      for (const json of [{ emails: ['a@example.org'] }, { nonsense: 1 }, { emails: 'x' }]) {
        assert.equal((await createAgent(t).post('/api/admin/invitations', { json })).statusCode, 401)
        assert.equal((await learner.agent.post('/api/admin/invitations', { json })).statusCode, 403)
        assert.equal((await instructor.agent.post('/api/admin/invitations', { json })).statusCode, 403)
      }
      assert.equal((await learner.agent.get('/api/admin/invitations')).statusCode, 403)
      assert.equal((await learner.agent.delete('/api/admin/invitations/1')).statusCode, 403)
      assert.equal((await createAgent(t).get('/api/admin/invitations')).statusCode, 401)
    }))
})

describe('following an invitation (CONTRACT §15)', () => {
  test('GET /api/invitations/<token>: the address, role and course; unknown → 404; logged as [redacted]', () =>
    withApp(env(), async (t) => {
      await createWork(t.database.db, 'course', { slug: 'intro-rust', parts: ['One'] })
      const admin = await adminOf(t)
      const token = await inviteOne(admin, 'ada@example.org', { role: 'instructor', course: 'intro-rust' })
      const seen = await createAgent(t).get(`/api/invitations/${token}`)
      assert.equal(seen.statusCode, 200)
      assert.deepEqual(seen.json(), { email: 'ada@example.org', role: 'instructor', course: 'intro-rust' })
      assert.equal((await createAgent(t).get(`/api/invitations/${token}x`)).statusCode, 404)
      const lines = t.logs().map((line) => JSON.stringify(line))
      assert.ok(lines.some((line) => line.includes('/api/invitations/[redacted]')))
      assert.ok(!lines.some((line) => line.includes(token)), 'the token is in a log line')
    }))

  test('register with it: 201 signed in, its address verified, its role, enrolled in its course', () =>
    withApp(env(), async (t) => {
      await createWork(t.database.db, 'course', { slug: 'intro-rust', parts: ['One', 'Two'] })
      const admin = await adminOf(t)
      const token = await inviteOne(admin, 'Ada@Example.org', { role: 'instructor', course: 'intro-rust' })
      const agent = createAgent(t)
      const res = await registerWith(agent, token, 'ada')
      assert.equal(res.statusCode, 201, res.body)
      const { user } = res.json()
      assert.equal(user.email, 'Ada@Example.org')
      assert.equal(user.role, 'instructor')
      assert.equal(user.email_verified, true)
      assert.equal((await agent.get('/api/me')).json().user.username, 'ada')
      const course = (await agent.get('/api/courses/intro-rust')).json().course
      assert.ok(course.enrolled_at, JSON.stringify(course))
      const [accepted] = t.events('invitation_accepted')
      assert.equal((accepted!.extra as any).target_user_id, user.id)
      assert.equal((accepted!.extra as any).course, 'intro-rust')
      // Used: the same link again is refused, and no longer shown.
      const again = await registerWith(createAgent(t), token, 'ada2')
      assert.equal(again.statusCode, 400)
      assert.equal(again.json().error, INVALID)
      assert.equal((await createAgent(t).get(`/api/invitations/${token}`)).statusCode, 404)
      assert.deepEqual((await admin.get('/api/admin/invitations')).json().invitations, [])
    }))

  test('without a course or role: a learner, enrolled nowhere; the address cannot be changed at registration', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const token = await inviteOne(admin, 'lin@example.org')
      const withEmail = await createAgent(t).post('/api/register', {
        json: { invitation: token, username: 'lin', email: 'other@example.org', password: PASSWORD },
      })
      assert.equal(withEmail.statusCode, 400)
      const res = await registerWith(createAgent(t), token, 'lin')
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.json().user.role, 'learner')
      assert.equal(res.json().user.email, 'lin@example.org')
    }))

  test('expiry by the clock: usable for 7 days, refused after', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const early = await inviteOne(admin, 'early@example.org')
      const late = await inviteOne(admin, 'late@example.org')
      t.clock.advance(7 * DAY_MS - 1)
      assert.equal((await registerWith(createAgent(t), early, 'early')).statusCode, 201)
      t.clock.advance(1)
      const expired = await registerWith(createAgent(t), late, 'late')
      assert.equal(expired.statusCode, 400)
      assert.equal(expired.json().error, INVALID)
      assert.equal((await createAgent(t).get(`/api/invitations/${late}`)).statusCode, 404)
      const pending = await t.database.db
        .selectFrom('invitations')
        .select('email')
        .where('used_at', 'is', null)
        .execute()
      assert.deepEqual(pending, [{ email: 'late@example.org' }]) // kept as history, but no longer pending
    }))

  test('a taken username or a refused password is a 409/400 that leaves the invitation working', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const other = await signedIn(t, 'learner', 'taken')
      const token = await inviteOne(admin, 'sam@example.org')
      const taken = await registerWith(createAgent(t), token, other.username)
      assert.equal(taken.statusCode, 409)
      const weak = await registerWith(createAgent(t), token, 'sam', 'password')
      assert.equal(weak.statusCode, 400)
      assert.equal((await registerWith(createAgent(t), token, 'sam')).statusCode, 201)
    }))

  test('the race: two registrations at once with one invitation, exactly one 201', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      for (let round = 0; round < 5; round += 1) {
        const token = await inviteOne(admin, `twin${round}@example.org`)
        const results = await Promise.all([
          registerWith(createAgent(t), token, `twin${round}a`),
          registerWith(createAgent(t), token, `twin${round}b`),
        ])
        const statuses = results.map((r) => r.statusCode).sort()
        assert.deepEqual(statuses, [201, 400], results.map((r) => r.body).join(' '))
      }
      const twins = await t.database.db.selectFrom('users').select('id').where('username', 'like', 'twin%').execute()
      assert.equal(twins.length, 5)
    }))

  test('revoke: DELETE 204, the link stops working, a second DELETE 404; each logged as admin_action', () =>
    withApp(env(), async (t) => {
      const admin = await adminOf(t)
      const token = await inviteOne(admin, 'gone@example.org')
      const [pending] = (await admin.get('/api/admin/invitations')).json().invitations
      assert.equal(pending.email, 'gone@example.org')
      assert.equal(pending.role, 'learner')
      assert.equal(pending.course, null)
      assert.equal((await admin.delete(`/api/admin/invitations/${pending.id}`)).statusCode, 204)
      assert.equal((await admin.delete(`/api/admin/invitations/${pending.id}`)).statusCode, 404)
      const refused = await registerWith(createAgent(t), token, 'gone')
      assert.equal(refused.statusCode, 400)
      assert.equal(refused.json().error, INVALID)
      const revokes = t.events('admin_action').filter((e) => (e.extra as any).action === 'revoke_invitation')
      assert.deepEqual(
        revokes.map((e) => (e.extra as any).outcome),
        ['done', 'not_found'],
      )
    }))
})

describe('REGISTRATION modes (CONTRACT §15)', () => {
  const plain = { username: 'walkin', email: 'walkin@example.org', password: PASSWORD }

  test('open (the default): anyone registers', () =>
    withApp(env(), async (t) => {
      assert.equal((await createAgent(t).post('/api/register', { json: plain })).statusCode, 201)
    }))

  for (const [mode, message] of [
    ['invite', 'Registration is by invitation only'],
    ['closed', 'Registration is closed'],
  ] as const) {
    test(`${mode}: without an invitation 403 "${message}"; with one, 201`, () =>
      withApp(env({ REGISTRATION: mode }), async (t) => {
        const res = await createAgent(t).post('/api/register', { json: plain })
        assert.equal(res.statusCode, 403)
        assert.equal(res.json().error, message)
        const [refusal] = t.events('auth_failure').filter((e) => (e.extra as any).reason === 'registration_not_open')
        assert.equal((refusal!.extra as any).registration, mode)
      }))
  }

  test('invite and closed: an invitation is the way in', async () => {
    for (const mode of ['invite', 'closed']) {
      await withApp(env({ REGISTRATION: mode }), async (t) => {
        const adminUser = await createAdminDirectly(t)
        const token = await inviteOne(adminUser, 'guest@example.org')
        const res = await registerWith(createAgent(t), token, 'guest')
        assert.equal(res.statusCode, 201, `${mode}: ${res.body}`)
      })
    }
  })
})

describe('RATE_LIMIT_REGISTER and invitations (CONTRACT §5)', () => {
  test('a class of 30 invited learners behind one address all register (limit 5/1h)', () =>
    withApp({ env: { PUBLIC_URL, RATE_LIMIT_REGISTER: '5/1h' } }, async (t) => {
      const admin = await adminOf(t)
      const { invitations } = await invite(admin, {
        emails: Array.from({ length: 30 }, (_, i) => `pupil${i}@school.example`),
      })
      for (const [i, invited] of invitations.entries()) {
        const res = await registerWith(createAgent(t), tokenOf(invited), `pupil${i}`)
        assert.equal(res.statusCode, 201, `pupil${i}: ${res.body}`)
      }
      // The address's own attempts are untouched: the admin's registration was the only one.
      const walkIn = await createAgent(t).post('/api/register', {
        json: { username: 'walkin', email: 'walkin@example.org', password: PASSWORD },
      })
      assert.equal(walkIn.headers['ratelimit-remaining'], '3')
    }))

  test('bad invitation tokens are counted: 5 failures, then 429 for tokens and walk-ins; a working invitation still registers', () =>
    withApp({ env: { PUBLIC_URL, RATE_LIMIT_REGISTER: '5/1h' } }, async (t) => {
      const admin = await createAdminDirectly(t)
      const token = await inviteOne(admin, 'real@example.org')
      const guesser = createAgent(t)
      for (let i = 0; i < 5; i += 1) {
        const res = await registerWith(guesser, `guess${i}`.padEnd(43, 'x'), `guess${i}`)
        assert.equal(res.statusCode, 400)
        assert.equal(res.json().error, INVALID)
      }
      assert.equal(t.events('invitation_rejected').length, 5)
      const blocked = await registerWith(guesser, 'guess5'.padEnd(43, 'x'), 'guess5')
      assert.equal(blocked.statusCode, 429)
      assert.ok(Number(blocked.headers['retry-after']) > 0)
      assert.equal(t.events('invitation_rejected').length, 5, 'a refused attempt looks at no invitation')
      const walkIn = await createAgent(t).post('/api/register', {
        json: { username: 'walkin', email: 'walkin@example.org', password: PASSWORD },
      })
      assert.equal(walkIn.statusCode, 429)
      // A working invitation is not counted, and not refused by the address's spent attempts.
      assert.equal((await registerWith(createAgent(t), token, 'real')).statusCode, 201)
      assert.equal((await registerWith(guesser, 'guess6'.padEnd(43, 'x'), 'guess6')).statusCode, 429)
      t.clock.advance(60 * 60 * 1000)
      assert.equal((await registerWith(guesser, 'guess7'.padEnd(43, 'x'), 'guess7')).statusCode, 400)
    }))

  test('refusals of the mode cost no attempt: 10 walk-ins refused, the invited learner still registers', () =>
    withApp({ env: { PUBLIC_URL, RATE_LIMIT_REGISTER: '5/1h', REGISTRATION: 'invite' } }, async (t) => {
      const admin = await createAdminDirectly(t)
      const token = await inviteOne(admin, 'real@example.org')
      for (let i = 0; i < 10; i += 1) {
        const res = await createAgent(t).post('/api/register', {
          json: { username: `walk${i}`, email: `walk${i}@example.org`, password: PASSWORD },
        })
        assert.equal(res.statusCode, 403)
      }
      assert.equal((await registerWith(createAgent(t), token, 'real')).statusCode, 201)
    }))
})

/** An admin made in the database and signed in over the API, as `lectern create-admin` would make one. */
async function createAdminDirectly(t: TestApp): Promise<Agent> {
  await insertAccount(t.database.db, 'root', 'admin', t.clock.now())
  const agent = createAgent(t)
  const res = await agent.post('/api/login', { json: { username: 'root', password: PASSWORD } })
  assert.equal(res.statusCode, 200, res.body)
  return agent
}
