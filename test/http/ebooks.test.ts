import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { MAX_CLIENT_CLOCK_SKEW_MS } from '../../src/modules/progress/reading.service.ts'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, databaseKinds, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`ebooks over HTTP on ${kind} (CONTRACT §6)`, () => {
    let t: TestApp
    let reader: SignedInUser
    let instructor: SignedInUser
    let anonymous: Agent
    let serial = 0
    const slug = (name: string) => `${name}-${++serial}`
    const iso = (ms: number) => new Date(ms).toISOString()

    /** A published ebook with four chapters. */
    async function ebook(name = 'book', published = true) {
      const s = slug(name)
      await createWork(t.database.db, 'ebook', {
        owners: [instructor.id],
        slug: s,
        published,
        parts: ['One', 'Two', 'Three', 'Four'],
      })
      return s
    }

    const put = (agent: Agent, s: string, json: Record<string, unknown>) =>
      agent.put(`/api/ebooks/${s}/progress`, { json })
    const positionIn = async (agent: Agent, s: string) =>
      (await agent.get(`/api/ebooks/${s}`)).json().ebook.reading_position

    before(async () => {
      t = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
      reader = await signedIn(t, 'learner', 'reader')
      instructor = await signedIn(t, 'instructor')
      anonymous = createAgent(t)
    })
    after(() => t.close())

    describe('the shelf and chapters', () => {
      test('published ebooks for everyone, drafts for staff; an ebook lists its chapters in order', async () => {
        const open = await ebook('open')
        const draft = await ebook('draft', false)
        const slugs = (await anonymous.get('/api/ebooks')).json().ebooks.map((e: { slug: string }) => e.slug)
        assert.ok(slugs.includes(open))
        assert.ok(!slugs.includes(draft))
        const staff = (await instructor.agent.get('/api/ebooks')).json().ebooks.map((e: { slug: string }) => e.slug)
        assert.ok(staff.includes(draft))
        assert.equal((await reader.agent.get(`/api/ebooks/${draft}`)).statusCode, 404)
        assert.equal((await reader.agent.get(`/api/ebooks/${draft}/chapters/1`)).statusCode, 404)

        const res = await anonymous.get(`/api/ebooks/${open}`)
        assert.equal(res.statusCode, 200)
        const book = res.json().ebook
        assert.equal(book.chapter_count, 4)
        assert.deepEqual(
          book.chapters.map((c: { n: number; title: string }) => `${c.n}. ${c.title}`),
          ['1. One', '2. Two', '3. Three', '4. Four'],
        )
        assert.equal(book.reading_position, null)
      })

      test('a chapter comes as sanitized HTML; numbers beyond the book are 404', async () => {
        const s = slug('chapter')
        await createWork(t.database.db, 'ebook', {
          slug: s,
          parts: [{ title: 'Only', body: 'Text with <svg onload=alert(1)></svg> and [a link](data:text/html,x)' }],
        })
        const res = await anonymous.get(`/api/ebooks/${s}/chapters/1`)
        assert.equal(res.statusCode, 200)
        assert.equal(res.json().chapter.body_html, '<p>Text with  and <a>a link</a></p>\n')
        assert.deepEqual(res.json().chapter.ebook, { slug: s, title: `Title of ${s}`, chapter_count: 1 })
        const beyond = await anonymous.get(`/api/ebooks/${s}/chapters/2`)
        assert.equal(beyond.statusCode, 404)
        assert.equal(beyond.json().error, 'Chapter not found')
        assert.equal((await anonymous.get(`/api/ebooks/nope-${s}`)).json().error, 'Ebook not found')
      })
    })

    describe('reading position', () => {
      test('PUT stores chapter and position; it comes back in the ebook and in my progress', async () => {
        const s = await ebook()
        const res = await put(reader.agent, s, { chapter: 2, position: 0.5 })
        assert.equal(res.statusCode, 200)
        const expected = { chapter: 2, position: 0.5, percent: 37.5, updated_at: iso(t.clock.now()) }
        assert.deepEqual(res.json(), { reading_position: expected, applied: true })
        assert.deepEqual(await positionIn(reader.agent, s), expected)
        const mine = (await reader.agent.get('/api/me/progress')).json().ebooks
        const entry = mine.find((e: { slug: string }) => e.slug === s)
        assert.deepEqual(entry.reading_position, expected)
        assert.equal(entry.chapter_count, 4)
        assert.equal(await positionIn(anonymous, s), null, 'nobody else sees it')
      })

      test('position 0 and 1 are accepted; just outside 0..1 is 400', async () => {
        const s = await ebook()
        assert.equal((await put(reader.agent, s, { chapter: 1, position: 0 })).statusCode, 200)
        assert.equal((await put(reader.agent, s, { chapter: 4, position: 1 })).json().reading_position.percent, 100)
        for (const position of [-0.0001, 1.0001, 2]) {
          const res = await put(reader.agent, s, { chapter: 1, position })
          assert.equal(res.statusCode, 400, String(position))
          assert.match(res.json().error, /^position must be [<>]= [01]$/)
        }
        assert.deepEqual(await positionIn(reader.agent, s), {
          chapter: 4,
          position: 1,
          percent: 100,
          updated_at: iso(t.clock.now()),
        })
      })

      test('chapter must exist; wrong types, missing and unknown fields are 400', async () => {
        const s = await ebook()
        const beyond = await put(reader.agent, s, { chapter: 5, position: 0 })
        assert.equal(beyond.statusCode, 400)
        assert.equal(beyond.json().error, 'chapter must be between 1 and 4')
        for (const [body, message] of [
          [{ chapter: 0, position: 0 }, /^chapter must be >= 1$/],
          [{ chapter: 1.5, position: 0 }, /^chapter must be integer$/],
          [{ chapter: '2', position: 0 }, /^chapter must be integer$/],
          [{ chapter: 1, position: '0.5' }, /^position must be number$/],
          [{ chapter: 1 }, /^Missing field: position$/],
          [{ chapter: 1, position: 0, user_id: 1 }, /^Unknown field: user_id$/],
          [{ chapter: 1, position: 0, updated_at: 'yesterday' }, /^updated_at must match format "date-time"$/],
        ] as const) {
          const res = await put(reader.agent, s, body)
          assert.equal(res.statusCode, 400, JSON.stringify(body))
          assert.match(res.json().error, message)
        }
        assert.equal(await positionIn(reader.agent, s), null, 'nothing was stored')
      })

      test('an update older than the stored one is ignored: a late device never moves the reader back', async () => {
        const s = await ebook()
        const now = t.clock.now()
        const laptop = await put(reader.agent, s, { chapter: 3, position: 0.25, updated_at: iso(now - 60_000) })
        assert.equal(laptop.json().applied, true)
        const phone = await put(reader.agent, s, { chapter: 1, position: 0.9, updated_at: iso(now - 3_600_000) })
        assert.equal(phone.statusCode, 200)
        assert.deepEqual(phone.json(), {
          applied: false,
          // (2 chapters read + a quarter of the third) of 4 = 56.25 %, one decimal
          reading_position: { chapter: 3, position: 0.25, percent: 56.3, updated_at: iso(now - 60_000) },
        })
        assert.equal((await positionIn(reader.agent, s)).chapter, 3)

        const later = await put(reader.agent, s, { chapter: 1, position: 0.1, updated_at: iso(now - 1_000) })
        assert.equal(later.json().applied, true, 'a newer update moves the reader, even backwards in the book')
        assert.equal((await positionIn(reader.agent, s)).chapter, 1)
      })

      test('without updated_at the server’s receive time decides; the later request wins', async () => {
        const s = await ebook()
        await put(reader.agent, s, { chapter: 2, position: 0 })
        t.clock.advance(1_000)
        const next = await put(reader.agent, s, { chapter: 1, position: 0.5 })
        assert.equal(next.json().applied, true)
        assert.equal(next.json().reading_position.updated_at, iso(t.clock.now()))
        // A device that stamped its update before the server received the last one is older.
        const stale = await put(reader.agent, s, { chapter: 4, position: 0, updated_at: iso(t.clock.now() - 1) })
        assert.equal(stale.json().applied, false)
      })

      test('updated_at may run ahead by the allowed clock skew, not beyond', async () => {
        const s = await ebook()
        const now = t.clock.now()
        const ahead = await put(reader.agent, s, {
          chapter: 2,
          position: 0,
          updated_at: iso(now + MAX_CLIENT_CLOCK_SKEW_MS),
        })
        assert.equal(ahead.statusCode, 200)
        const future = await put(reader.agent, s, {
          chapter: 2,
          position: 0,
          updated_at: iso(now + MAX_CLIENT_CLOCK_SKEW_MS + 1),
        })
        assert.equal(future.statusCode, 400)
        assert.equal(future.json().error, 'updated_at must not be in the future')
      })

      test('two devices at once: whatever the order of arrival, the newest reading is kept', async () => {
        const s = await ebook()
        const now = t.clock.now()
        const updates = Array.from({ length: 8 }, (_, i) => ({
          chapter: (i % 4) + 1,
          position: i / 10,
          updated_at: iso(now - 10_000 + i * 1000),
        }))
        const newest = updates[7]!
        await Promise.all([...updates].reverse().map((update) => put(reader.agent, s, update)))
        const stored = await positionIn(reader.agent, s)
        assert.equal(stored.chapter, newest.chapter)
        assert.equal(stored.position, newest.position)
        assert.equal(stored.updated_at, newest.updated_at)
      })

      test('deleting the chapter a reader is in removes their position; the ebook stays readable', async () => {
        const s = await ebook()
        await put(reader.agent, s, { chapter: 4, position: 0.5 })
        assert.equal((await instructor.agent.delete(`/api/ebooks/${s}/chapters/4`)).statusCode, 204)
        assert.equal(await positionIn(reader.agent, s), null)
      })

      test('signed out PUT is 401; a draft is 404 to readers', async () => {
        const s = await ebook()
        assert.equal((await put(anonymous, s, { chapter: 1, position: 0 })).statusCode, 401)
        const draft = await ebook('draft', false)
        assert.equal((await put(reader.agent, draft, { chapter: 1, position: 0 })).statusCode, 404)
      })
    })

    describe('editing, as instructors', () => {
      test('create, add chapters, reorder, publish, delete; learners get 403 and a permission_denied line', async () => {
        const s = slug('written')
        const created = await instructor.agent.post('/api/ebooks', { json: { slug: s, title: 'Written here' } })
        assert.equal(created.statusCode, 201)
        assert.equal(created.json().ebook.published, false)
        for (const title of ['First', 'Second']) {
          const res = await instructor.agent.post(`/api/ebooks/${s}/chapters`, {
            json: { title, body: `${title} text` },
          })
          assert.equal(res.statusCode, 201)
        }
        const moved = await instructor.agent.patch(`/api/ebooks/${s}/chapters/2`, { json: { position: 1 } })
        assert.equal(moved.json().chapter.title, 'Second')
        assert.equal(moved.json().chapter.n, 1)
        assert.equal((await instructor.agent.patch(`/api/ebooks/${s}`, { json: { published: true } })).statusCode, 200)
        const book = (await reader.agent.get(`/api/ebooks/${s}`)).json().ebook
        assert.deepEqual(
          book.chapters.map((c: { title: string }) => c.title),
          ['Second', 'First'],
        )

        const before = t.events('permission_denied').length
        const denied = await reader.agent.post(`/api/ebooks/${s}/chapters`, { json: { title: 'X', body: 'Y' } })
        assert.equal(denied.statusCode, 403)
        assert.equal(t.events('permission_denied').length, before + 1)
        assert.equal((await reader.agent.delete(`/api/ebooks/${s}`)).statusCode, 403)

        assert.equal((await instructor.agent.delete(`/api/ebooks/${s}`)).statusCode, 204)
        assert.equal((await reader.agent.get(`/api/ebooks/${s}`)).statusCode, 404)
      })
    })
  })
}
