import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { openDatabase } from '../../src/db/database.ts'
import { DEMO_SEEDED_KEY, seedDemoContent } from '../../src/modules/importer/demo-content.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createTestDatabase } from '../support/database.ts'
import { createWork, databaseKinds, MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import { logLineProblem } from '../support/log-schema.ts'
import { startServer } from '../support/process.ts'

const DEMO_COURSE = 'web-fundamentals'
const DEMO_EBOOK = 'http-in-brief'

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`demo content on ${kind}`, () => {
    async function withApp(work: (t: TestApp) => Promise<void>) {
      const t = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
      try {
        await work(t)
      } finally {
        await t.close()
      }
    }
    const seed = (t: TestApp) => seedDemoContent({ db: t.database.db, clock: t.clock })

    test('the first start seeds a course of 5+ lessons and an ebook of 3+ chapters, published and readable', async () => {
      await withApp(async (t) => {
        const result = await seed(t)
        assert.equal(result.seeded, true)
        assert.deepEqual(
          result.imported.map((i) => [i.kind, i.slug, i.skipped]),
          [
            ['ebook', DEMO_EBOOK, false],
            ['course', DEMO_COURSE, false],
          ],
        )
        const visitor = createAgent(t)
        const course = (await visitor.get(`/api/courses/${DEMO_COURSE}`)).json().course
        assert.equal(course.published, true)
        assert.ok(course.lessons.length >= 5, `${course.lessons.length} lessons`)
        const ebook = (await visitor.get(`/api/ebooks/${DEMO_EBOOK}`)).json().ebook
        assert.ok(ebook.chapters.length >= 3, `${ebook.chapters.length} chapters`)

        for (let n = 1; n <= course.lessons.length; n++) {
          const lesson = (await visitor.get(`/api/courses/${DEMO_COURSE}/lessons/${n}`)).json().lesson
          assert.ok(lesson.body_html.length > 500, `lesson ${n} has a body`)
          assert.doesNotMatch(lesson.body_html, /^<h1>/, 'the title is not repeated in the body')
        }
        for (let n = 1; n <= ebook.chapters.length; n++) {
          assert.equal((await visitor.get(`/api/ebooks/${DEMO_EBOOK}/chapters/${n}`)).statusCode, 200)
        }
      })
    })

    test('seeding happens once: the second start changes nothing', async () => {
      await withApp(async (t) => {
        await seed(t)
        const admin = await signedIn(t, 'admin')
        await admin.agent.patch(`/api/courses/${DEMO_COURSE}`, { json: { title: 'Renamed by the school' } })
        t.clock.advance(86_400_000)
        assert.deepEqual(await seed(t), { seeded: false, imported: [] })
        const course = (await admin.agent.get(`/api/courses/${DEMO_COURSE}`)).json().course
        assert.equal(course.title, 'Renamed by the school')
      })
    })

    test('an admin’s deletion is final: the demo does not come back', async () => {
      await withApp(async (t) => {
        await seed(t)
        const admin = await signedIn(t, 'admin')
        assert.equal((await admin.agent.delete(`/api/courses/${DEMO_COURSE}`)).statusCode, 204)
        assert.equal((await seed(t)).seeded, false)
        assert.equal((await admin.agent.get(`/api/courses/${DEMO_COURSE}`)).statusCode, 404)
      })
    })

    test('a course imported before the first start under the demo’s slug is never overwritten', async () => {
      await withApp(async (t) => {
        await createWork(t.database.db, 'course', { slug: DEMO_COURSE, title: 'Our own course', parts: ['Ours'] })
        const result = await seed(t)
        assert.equal(result.seeded, true)
        assert.deepEqual(
          result.imported.map((i) => [i.slug, i.skipped]),
          [
            [DEMO_EBOOK, false],
            [DEMO_COURSE, true],
          ],
        )
        const course = (await createAgent(t).get(`/api/courses/${DEMO_COURSE}`)).json().course
        assert.equal(course.title, 'Our own course')
        assert.deepEqual(
          course.lessons.map((l: { title: string }) => l.title),
          ['Ours'],
        )
      })
    })

    test('instances starting together seed once', async () => {
      const first = await createTestDatabase(kind, postgresUrl)
      // A second connection pool to the same database, as a second instance would have.
      const second =
        kind === 'postgres'
          ? openDatabase({
              databaseUrl: postgresUrl!,
              sqlitePath: '',
              pgSchema: await first.db
                .selectNoFrom((eb) => eb.fn<string>('current_schema').as('schema'))
                .executeTakeFirstOrThrow()
                .then((row) => row.schema),
            })
          : first
      const clock = createManualClock()
      try {
        const results = await Promise.all([
          seedDemoContent({ db: first.db, clock }),
          seedDemoContent({ db: second.db, clock }),
        ])
        assert.deepEqual(results.map((r) => r.seeded).sort(), [false, true])
        const courses = await first.db.selectFrom('courses').select('slug').execute()
        assert.deepEqual(
          courses.map((c) => c.slug),
          [DEMO_COURSE],
        )
        const marker = await first.db
          .selectFrom('app_meta')
          .select('value')
          .where('key', '=', DEMO_SEEDED_KEY)
          .execute()
        assert.deepEqual(marker, [{ value: new Date(clock.now()).toISOString() }])
      } finally {
        if (second !== first) await second.close()
        await first.close()
      }
    })
  })
}

describe('lectern serve seeds on the first start only', () => {
  test('content_seeded is logged once; the demo course is served', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-seed-'))
    try {
      const first = await startServer({ DATA_DIR: dataDir })
      const catalogue = await (await fetch(`${first.url}/api/courses`)).json()
      assert.ok(catalogue.courses.some((c: { slug: string }) => c.slug === DEMO_COURSE))
      assert.equal(await first.stop(), 0, first.stdout().slice(-2000))
      const second = await startServer({ DATA_DIR: dataDir })
      // An answer first: the process has then finished starting (signal handlers included).
      assert.equal((await fetch(`${second.url}/api/courses`)).status, 200)
      assert.equal(await second.stop(), 0, second.stdout().slice(-2000))

      const events = (output: string) =>
        output
          .trim()
          .split('\n')
          .map((line) => {
            assert.equal(logLineProblem(line), null)
            return JSON.parse(line) as { event: string; extra?: { imported?: unknown[] } }
          })
      const seeded = events(first.stdout()).filter((line) => line.event === 'content_seeded')
      assert.equal(seeded.length, 1)
      assert.deepEqual(seeded[0]?.extra?.imported, [
        { kind: 'ebook', slug: DEMO_EBOOK, skipped: false, parts: 4 },
        { kind: 'course', slug: DEMO_COURSE, skipped: false, parts: 7 },
      ])
      assert.equal(events(second.stdout()).filter((line) => line.event === 'content_seeded').length, 0)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
