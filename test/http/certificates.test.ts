/**
 * Certificates (CONTRACT §12), on SQLite and PostgreSQL: issued once when every lesson of a
 * course is complete (through "complete" or a quiz pass, even under parallel requests), listed at
 * GET /api/me/certificates, verifiable by anyone at PUBLIC_URL/certificates/<id> and as a PDF,
 * and still valid after the course changes or goes.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { QUIZ_LESSON } from '../support/quizzes.ts'

const PUBLIC_URL = 'https://learn.example.org'
const RIGHT = { q1: ['q1c2'], q2: ['q2c1', 'q2c2'] }

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`certificates on ${kind} (CONTRACT §12)`, () => {
    let t: TestApp
    let instructor: SignedInUser
    let serial = 0

    before(async () => {
      t = await buildTestApp({
        env: { ...MANY_USERS_ENV, PUBLIC_URL, RATE_LIMIT_QUIZ: '1000/1h' },
        database: kind,
        postgresUrl,
      })
      instructor = await signedIn(t, 'instructor')
    })
    after(() => t.close())

    async function course(bodies: string[]): Promise<string> {
      const slug = `certified-${++serial}`
      await instructor.agent.post('/api/courses', { json: { slug, title: `Course ${serial}`, published: true } })
      for (const [index, body] of bodies.entries()) {
        const res = await instructor.agent.post(`/api/courses/${slug}/lessons`, {
          json: { title: `Lesson ${index + 1}`, body },
        })
        assert.equal(res.statusCode, 201, res.body)
      }
      return slug
    }
    const complete = (agent: Agent, slug: string, n: number) => agent.post(`/api/courses/${slug}/lessons/${n}/complete`)
    const mine = async (agent: Agent) => {
      const res = await agent.get('/api/me/certificates')
      assert.equal(res.statusCode, 200)
      return res.json().certificates as Array<{
        id: string
        course: { slug: string; title: string }
        issued_at: string
        url: string
      }>
    }

    test('completing the last lesson issues one certificate, listed with its public url', async () => {
      const slug = await course(['One.', 'Two.'])
      const learner = await signedIn(t)
      assert.deepEqual(await mine(learner.agent), [])
      await complete(learner.agent, slug, 1)
      assert.deepEqual(await mine(learner.agent), [], 'not before every lesson is complete')
      const before = t.events('certificate_issued').length
      await complete(learner.agent, slug, 2)
      const certificates = await mine(learner.agent)
      assert.equal(certificates.length, 1)
      const [certificate] = certificates
      assert.deepEqual(Object.keys(certificate!).sort(), ['course', 'id', 'issued_at', 'url'])
      assert.deepEqual(certificate!.course, { slug, title: `Course ${serial}` })
      assert.match(certificate!.id, /^[A-Za-z0-9_-]{24}$/, '144 random bits, base64url')
      assert.equal(certificate!.url, `${PUBLIC_URL}/certificates/${certificate!.id}`)
      assert.equal(certificate!.issued_at, new Date(t.clock.now()).toISOString())
      const issued = t.events('certificate_issued').slice(before)
      assert.equal(issued.length, 1)
      assert.equal(issued[0]!.user_id, learner.id)
      assert.ok(!JSON.stringify(t.logs()).includes(certificate!.id), 'the id is never logged')

      await complete(learner.agent, slug, 2)
      await complete(learner.agent, slug, 1)
      assert.equal((await mine(learner.agent)).length, 1, 'completing again issues nothing')
      assert.equal(t.events('certificate_issued').length, before + 1)
      assert.deepEqual(await mine((await signedIn(t)).agent), [], 'another learner has none')
    })

    test('a quiz pass that completes the course issues it too', async () => {
      const slug = await course(['One.', QUIZ_LESSON])
      const learner = await signedIn(t)
      await complete(learner.agent, slug, 1)
      await learner.agent.post(`/api/courses/${slug}/lessons/2/quiz`, {
        json: { answers: { q1: ['q1c1'], q2: ['q2c3'] } },
      })
      assert.deepEqual(await mine(learner.agent), [], 'a failed attempt completes nothing')
      await learner.agent.post(`/api/courses/${slug}/lessons/2/quiz`, { json: { answers: RIGHT } })
      assert.equal((await mine(learner.agent)).length, 1)
    })

    test('parallel completions and passes of the last lessons issue exactly one', async () => {
      const slug = await course(['One.', 'Two.', QUIZ_LESSON])
      const learner = await signedIn(t)
      await learner.agent.csrfToken()
      const before = t.events('certificate_issued').length
      await learner.agent.post(`/api/courses/${slug}/lessons/3/quiz`, { json: { answers: RIGHT } })
      const results = await Promise.all([
        ...Array.from({ length: 8 }, () => complete(learner.agent, slug, 1)),
        ...Array.from({ length: 8 }, () => complete(learner.agent, slug, 2)),
        ...Array.from({ length: 8 }, () =>
          learner.agent.post(`/api/courses/${slug}/lessons/3/quiz`, { json: { answers: RIGHT } }),
        ),
      ])
      assert.deepEqual([...new Set(results.map((res) => res.statusCode))], [200])
      assert.equal((await mine(learner.agent)).length, 1)
      assert.equal(t.events('certificate_issued').length, before + 1)
      const rows = await t.database.db
        .selectFrom('certificates')
        .select('id')
        .where('user_id', '=', learner.id)
        .execute()
      assert.equal(rows.length, 1)
    })

    test('the last two lessons completed at once, once each, by each of a class: every learner gets exactly one', async () => {
      // Each completion's transaction must see the other's lesson: on PostgreSQL (read committed)
      // two transactions that each see only their own completion would both decide "not yet".
      const slug = await course(['One.', 'Two.'])
      const learners = await Promise.all(Array.from({ length: 12 }, () => signedIn(t)))
      for (const learner of learners) {
        assert.equal((await learner.agent.post(`/api/courses/${slug}/enroll`)).statusCode, 200)
      }
      const results = await Promise.all(
        learners.flatMap((learner) => [complete(learner.agent, slug, 1), complete(learner.agent, slug, 2)]),
      )
      assert.deepEqual([...new Set(results.map((res) => res.statusCode))], [200])
      for (const learner of learners) {
        assert.equal((await mine(learner.agent)).length, 1, `learner ${learner.username} has one certificate`)
      }
    })

    test('the public page: name, course, date and address for anyone, noindex; unknown id → 404', async () => {
      const slug = await course(['Only.'])
      const learner = await signedIn(t)
      await t.database.db
        .updateTable('users')
        .set({ display_name: 'Ada <Lovelace>' })
        .where('id', '=', learner.id)
        .execute()
      await complete(learner.agent, slug, 1)
      const [certificate] = await mine(learner.agent)
      const anonymous = createAgent(t)
      const page = await anonymous.get(`/certificates/${certificate!.id}`)
      assert.equal(page.statusCode, 200)
      assert.match(page.headers['content-type'] as string, /^text\/html/)
      assert.match(page.headers['x-robots-tag'] as string, /noindex/)
      assert.ok(page.body.includes('<meta name="robots" content="noindex, nofollow">'))
      assert.ok(page.body.includes('Ada &lt;Lovelace&gt;'), 'the name, escaped')
      assert.ok(page.body.includes(`Course ${serial}`))
      assert.ok(page.body.includes(new Date(t.clock.now()).toISOString().slice(0, 10)))
      assert.ok(page.body.includes(certificate!.url))
      const logged = t
        .logs()
        .filter((line) => line.event === 'request_complete' && String(line.path).startsWith('/certificates/'))
      assert.ok(logged.length > 0 && logged.every((line) => line.path === '/certificates/[redacted]'))
      // The address is the credential: no link followed from the page carries it in a Referer.
      assert.equal(page.headers['referrer-policy'], 'no-referrer')
      const pdf = await anonymous.get(`/certificates/${certificate!.id}.pdf`)
      assert.equal(pdf.headers['referrer-policy'], 'no-referrer')

      for (const id of [
        'A'.repeat(24),
        'nope',
        `${certificate!.id.slice(0, -1)}x`,
        `${certificate!.id}.txt`,
        'B'.repeat(150),
      ]) {
        const missing = await anonymous.get(`/certificates/${id}`)
        assert.equal(missing.statusCode, 404, id)
        assert.match(missing.headers['content-type'] as string, /^text\/html/)
      }
      assert.equal((await anonymous.get(`/certificates/${'A'.repeat(24)}.pdf`)).statusCode, 404)
    })

    test('the PDF: application/pdf starting %PDF, also for a name outside the standard fonts', async () => {
      const slug = await course(['Only.'])
      for (const name of ['Zoë Ångström', 'Дмитрий Шостакович', '李小龍', '']) {
        const learner = await signedIn(t)
        await t.database.db.updateTable('users').set({ display_name: name }).where('id', '=', learner.id).execute()
        await complete(learner.agent, slug, 1)
        const [certificate] = await mine(learner.agent)
        const pdf = await createAgent(t).get(`/certificates/${certificate!.id}.pdf`)
        assert.equal(pdf.statusCode, 200, name)
        assert.equal(pdf.headers['content-type'], 'application/pdf')
        assert.equal(pdf.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-')
        assert.ok(pdf.rawPayload.length > 1000)
      }
    })

    test('a certificate stays valid, as issued, when the course is renamed and even when it is deleted', async () => {
      const slug = await course(['Only.'])
      const learner = await signedIn(t)
      await complete(learner.agent, slug, 1)
      const [certificate] = await mine(learner.agent)
      const title = certificate!.course.title
      assert.equal(
        (await instructor.agent.patch(`/api/courses/${slug}`, { json: { title: 'A new name' } })).statusCode,
        200,
      )
      // A lesson added later does not take the certificate back either.
      await instructor.agent.post(`/api/courses/${slug}/lessons`, { json: { title: 'Bonus', body: 'More.' } })
      let page = await createAgent(t).get(`/certificates/${certificate!.id}`)
      assert.equal(page.statusCode, 200)
      assert.ok(page.body.includes(title) && !page.body.includes('A new name'))
      assert.deepEqual((await mine(learner.agent))[0]!.course, { slug, title })
      assert.equal((await instructor.agent.delete(`/api/courses/${slug}`)).statusCode, 204)
      page = await createAgent(t).get(`/certificates/${certificate!.id}`)
      assert.equal(page.statusCode, 200)
      assert.equal((await mine(learner.agent)).length, 1)
    })

    test('"My learning" lists the certificates with links', async () => {
      const slug = await course(['Only.'])
      const learner = await signedIn(t)
      let page = await learner.agent.get('/me')
      assert.match(page.body, /Complete every lesson of a course to receive its certificate/)
      await complete(learner.agent, slug, 1)
      const [certificate] = await mine(learner.agent)
      page = await learner.agent.get('/me')
      assert.ok(page.body.includes(`href="/certificates/${certificate!.id}"`))
      assert.ok(page.body.includes(`href="/certificates/${certificate!.id}.pdf"`))
    })

    test('GET /api/me/certificates needs a session', async () => {
      assert.equal((await createAgent(t).get('/api/me/certificates')).statusCode, 401)
    })
  })
}
