import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, databaseKinds, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'

const COURSE_KEYS = ['created_at', 'description', 'lesson_count', 'published', 'slug', 'title', 'updated_at']

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`courses over HTTP on ${kind} (CONTRACT §6)`, () => {
    let t: TestApp
    let learner: SignedInUser
    let instructor: SignedInUser
    let admin: SignedInUser
    let anonymous: Agent
    let serial = 0
    const slug = (name: string) => `${name}-${++serial}`

    before(async () => {
      t = await buildTestApp({ env: MANY_USERS_ENV, database: kind, postgresUrl })
      learner = await signedIn(t, 'learner')
      instructor = await signedIn(t, 'instructor')
      admin = await signedIn(t, 'admin')
      anonymous = createAgent(t)
    })
    after(() => t.close())

    const progressOf = async (agent: Agent, courseSlug: string) =>
      (await agent.get(`/api/courses/${courseSlug}`)).json().course.progress

    describe('the catalogue and drafts', () => {
      test('published courses for everyone; drafts only for instructors and admins', async () => {
        const open = slug('open')
        const draft = slug('draft')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: open, parts: ['One', 'Two'] })
        await createWork(t.database.db, 'course', {
          owners: [instructor.id],
          slug: draft,
          published: false,
          parts: ['Secret'],
        })

        for (const agent of [anonymous, learner.agent]) {
          const res = await agent.get('/api/courses')
          assert.equal(res.statusCode, 200)
          const slugs = res.json().courses.map((c: { slug: string }) => c.slug)
          assert.ok(slugs.includes(open))
          assert.ok(!slugs.includes(draft), 'a draft is not listed for learners or anonymous callers')
        }
        for (const agent of [instructor.agent, admin.agent]) {
          const courses = (await agent.get('/api/courses')).json().courses as Array<Record<string, unknown>>
          const listed = courses.find((c) => c.slug === draft)
          assert.ok(listed, 'staff see drafts')
          assert.equal(listed.published, false)
        }
        const listed = (await anonymous.get('/api/courses'))
          .json()
          .courses.find((c: { slug: string }) => c.slug === open)
        assert.deepEqual(Object.keys(listed).sort(), COURSE_KEYS)
        assert.equal(listed.lesson_count, 2)
        assert.equal(listed.published, true)
      })

      test('a draft, its lessons and enrollment are 404 to learners and anonymous callers, 200 to staff', async () => {
        const draft = slug('draft')
        await createWork(t.database.db, 'course', {
          owners: [instructor.id],
          slug: draft,
          published: false,
          parts: ['Secret'],
        })
        for (const agent of [anonymous, learner.agent]) {
          const course = await agent.get(`/api/courses/${draft}`)
          assert.equal(course.statusCode, 404)
          assert.equal(course.json().error, 'Course not found')
          assert.equal((await agent.get(`/api/courses/${draft}/lessons/1`)).statusCode, 404)
        }
        assert.equal((await learner.agent.post(`/api/courses/${draft}/enroll`)).statusCode, 404)
        assert.equal((await learner.agent.post(`/api/courses/${draft}/lessons/1/complete`)).statusCode, 404)
        assert.equal((await instructor.agent.get(`/api/courses/${draft}`)).statusCode, 200)
        assert.equal((await admin.agent.get(`/api/courses/${draft}/lessons/1`)).statusCode, 200)
      })

      test('an unknown course is 404 "Course not found"', async () => {
        const res = await anonymous.get('/api/courses/no-such-course')
        assert.equal(res.statusCode, 404)
        assert.equal(res.json().error, 'Course not found')
      })
    })

    describe('a course and its lessons', () => {
      test('the course lists its lessons in order with 1-based numbers; signed out there is no progress', async () => {
        const s = slug('course')
        await createWork(t.database.db, 'course', {
          owners: [instructor.id],
          slug: s,
          parts: ['Alpha', 'Beta', 'Gamma'],
        })
        const course = (await anonymous.get(`/api/courses/${s}`)).json().course
        assert.deepEqual(
          course.lessons.map((l: { n: number; title: string }) => [l.n, l.title]),
          [
            [1, 'Alpha'],
            [2, 'Beta'],
            [3, 'Gamma'],
          ],
        )
        assert.equal(course.progress, null)
        assert.equal(course.enrolled, false)
        const signed = (await learner.agent.get(`/api/courses/${s}`)).json().course
        assert.deepEqual(signed.progress, { completed: 0, total: 3, percent: 0 })
        assert.equal(signed.enrolled, false)
      })

      test('a lesson comes with its body as sanitized HTML, never its Markdown source', async () => {
        const s = slug('xss')
        const body = [
          '## Safe heading',
          '<script>alert(1)</script>',
          '<img src=x onerror=alert(1)>',
          '[click](javascript:alert(1))',
          '<iframe src="https://evil.example/"></iframe>',
          '<a href="https://example.org" onclick="steal()">out</a>',
        ].join('\n\n')
        await createWork(t.database.db, 'course', {
          owners: [instructor.id],
          slug: s,
          parts: [{ title: 'Payloads', body }],
        })
        const res = await learner.agent.get(`/api/courses/${s}/lessons/1`)
        assert.equal(res.statusCode, 200)
        const lesson = res.json().lesson
        assert.equal(lesson.n, 1)
        assert.equal(lesson.title, 'Payloads')
        assert.match(lesson.body_html, /<h2>Safe heading<\/h2>/)
        assert.match(lesson.body_html, /<a href="https:\/\/example.org" rel="noopener noreferrer">out<\/a>/)
        assert.doesNotMatch(res.body, /<script|onerror|onclick|javascript:|<iframe/i)
        assert.equal(lesson.body_markdown, undefined)
        assert.deepEqual(lesson.course, { slug: s, title: `Title of ${s}`, lesson_count: 1 })
        assert.equal(lesson.completed, false)
      })

      test('lesson numbers outside the course are 404; non-numbers and 0 are 400', async () => {
        const s = slug('bounds')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['Only'] })
        assert.equal((await anonymous.get(`/api/courses/${s}/lessons/1`)).statusCode, 200)
        const beyond = await anonymous.get(`/api/courses/${s}/lessons/2`)
        assert.equal(beyond.statusCode, 404)
        assert.equal(beyond.json().error, 'Lesson not found')
        assert.equal((await anonymous.get(`/api/courses/${s}/lessons/0`)).statusCode, 400)
        assert.equal((await anonymous.get(`/api/courses/${s}/lessons/two`)).statusCode, 400)
      })

      test('the Markdown source is for staff: 200 for instructors, 403 for learners, 401 signed out', async () => {
        const s = slug('source')
        await createWork(t.database.db, 'course', {
          owners: [instructor.id],
          slug: s,
          parts: [{ title: 'T', body: '# Kept *as written*' }],
        })
        const source = await instructor.agent.get(`/api/courses/${s}/lessons/1/source`)
        assert.equal(source.statusCode, 200)
        assert.equal(source.json().lesson.body_markdown, '# Kept *as written*')
        assert.equal((await learner.agent.get(`/api/courses/${s}/lessons/1/source`)).statusCode, 403)
        assert.equal((await anonymous.get(`/api/courses/${s}/lessons/1/source`)).statusCode, 401)
      })
    })

    describe('enrollment, completion and progress', () => {
      test('enrolling answers 200 with progress and is idempotent (the first date stays)', async () => {
        const s = slug('enroll')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B'] })
        const first = await learner.agent.post(`/api/courses/${s}/enroll`)
        assert.equal(first.statusCode, 200)
        assert.deepEqual(first.json().progress, { completed: 0, total: 2, percent: 0 })
        assert.equal(first.json().enrolled, true)
        t.clock.advance(60_000)
        const again = await learner.agent.post(`/api/courses/${s}/enroll`, { json: {} })
        assert.equal(again.statusCode, 200)
        assert.equal(again.json().enrolled_at, first.json().enrolled_at)
        const course = (await learner.agent.get(`/api/courses/${s}`)).json().course
        assert.equal(course.enrolled, true)
        assert.equal(course.enrolled_at, first.json().enrolled_at)
      })

      test('an action takes no fields: an unknown one is 400', async () => {
        const s = slug('fields')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A'] })
        const enroll = await learner.agent.post(`/api/courses/${s}/enroll`, { json: { user_id: admin.id } })
        assert.equal(enroll.statusCode, 400)
        assert.equal(enroll.json().error, 'Unknown field: user_id')
        const complete = await learner.agent.post(`/api/courses/${s}/lessons/1/complete`, { json: { completed: 5 } })
        assert.equal(complete.statusCode, 400)
        assert.equal(complete.json().error, 'Unknown field: completed')
      })

      test('completing counts live, with one decimal, and completing twice changes nothing', async () => {
        const s = slug('complete')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B', 'C'] })
        const first = await learner.agent.post(`/api/courses/${s}/lessons/1/complete`)
        assert.equal(first.statusCode, 200)
        assert.deepEqual(first.json(), { progress: { completed: 1, total: 3, percent: 33.3 } })
        const twice = await learner.agent.post(`/api/courses/${s}/lessons/1/complete`)
        assert.deepEqual(twice.json(), { progress: { completed: 1, total: 3, percent: 33.3 } })
        const second = await learner.agent.post(`/api/courses/${s}/lessons/3/complete`)
        assert.deepEqual(second.json().progress, { completed: 2, total: 3, percent: 66.7 })
        const lessons = (await learner.agent.get(`/api/courses/${s}`)).json().course.lessons
        assert.deepEqual(
          lessons.map((l: { completed: boolean }) => l.completed),
          [true, false, true],
        )
        assert.equal((await learner.agent.get(`/api/courses/${s}/lessons/3`)).json().lesson.completed, true)
      })

      test('completion is per learner', async () => {
        const s = slug('mine')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B'] })
        const other = await signedIn(t, 'learner', 'other')
        await learner.agent.post(`/api/courses/${s}/lessons/1/complete`)
        assert.deepEqual(await progressOf(other.agent, s), { completed: 0, total: 2, percent: 0 })
      })

      test('completing a lesson enrolls the learner, so the course shows in their progress', async () => {
        const s = slug('auto')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B'] })
        const who = await signedIn(t, 'learner', 'auto')
        await who.agent.post(`/api/courses/${s}/lessons/2/complete`)
        const mine = (await who.agent.get('/api/me/progress')).json()
        assert.deepEqual(
          mine.courses.map((c: { slug: string; progress: unknown }) => [c.slug, c.progress]),
          [[s, { completed: 1, total: 2, percent: 50 }]],
        )
      })

      test('deleting a completed lesson: totals and percent follow the lessons that exist now', async () => {
        const s = slug('shrink')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B', 'C', 'D'] })
        for (const n of [1, 2]) await learner.agent.post(`/api/courses/${s}/lessons/${n}/complete`)
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 2, total: 4, percent: 50 })

        assert.equal((await instructor.agent.delete(`/api/courses/${s}/lessons/1`)).statusCode, 204)
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 1, total: 3, percent: 33.3 })

        // Finish every remaining lesson, then delete one: never above 100 %.
        for (const n of [1, 2, 3]) await learner.agent.post(`/api/courses/${s}/lessons/${n}/complete`)
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 3, total: 3, percent: 100 })
        await instructor.agent.delete(`/api/courses/${s}/lessons/3`)
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 2, total: 2, percent: 100 })
      })

      test('adding a lesson lowers the percent at once; deleting every lesson gives 0 of 0 and 0 %', async () => {
        const s = slug('grow')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A'] })
        await learner.agent.post(`/api/courses/${s}/lessons/1/complete`)
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 1, total: 1, percent: 100 })
        await instructor.agent.post(`/api/courses/${s}/lessons`, { json: { title: 'B', body: 'New' } })
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 1, total: 2, percent: 50 })
        await instructor.agent.delete(`/api/courses/${s}/lessons/2`)
        await instructor.agent.delete(`/api/courses/${s}/lessons/1`)
        assert.deepEqual(await progressOf(learner.agent, s), { completed: 0, total: 0, percent: 0 })
      })

      test('GET /api/me/progress lists enrolled courses; a course made a draft disappears for learners', async () => {
        const s = slug('me')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B'] })
        const who = await signedIn(t, 'learner', 'me')
        await who.agent.post(`/api/courses/${s}/enroll`)
        await who.agent.post(`/api/courses/${s}/lessons/2/complete`)
        const res = await who.agent.get('/api/me/progress')
        assert.equal(res.statusCode, 200)
        const [course] = res.json().courses
        assert.equal(course.slug, s)
        assert.deepEqual(course.progress, { completed: 1, total: 2, percent: 50 })
        assert.deepEqual(res.json().ebooks, [])

        await instructor.agent.patch(`/api/courses/${s}`, { json: { published: false } })
        assert.deepEqual((await who.agent.get('/api/me/progress')).json().courses, [])
      })

      test('signed out: enroll, complete and my progress are 401', async () => {
        const s = slug('anon')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A'] })
        assert.equal((await anonymous.post(`/api/courses/${s}/enroll`)).statusCode, 401)
        assert.equal((await anonymous.post(`/api/courses/${s}/lessons/1/complete`)).statusCode, 401)
        assert.equal((await anonymous.get('/api/me/progress')).statusCode, 401)
      })
    })

    describe('roles: one declaration per route', () => {
      const editing = (s: string) => [
        { method: 'POST', url: '/api/courses', json: { slug: `${s}-new`, title: 'New' } },
        { method: 'PATCH', url: `/api/courses/${s}`, json: { title: 'Mine now' } },
        { method: 'DELETE', url: `/api/courses/${s}` },
        { method: 'POST', url: `/api/courses/${s}/lessons`, json: { title: 'L', body: 'B' } },
        { method: 'PATCH', url: `/api/courses/${s}/lessons/1`, json: { title: 'L' } },
        { method: 'DELETE', url: `/api/courses/${s}/lessons/1` },
      ]

      test('learners get 403 on every editing route, each logged as permission_denied; nothing changes', async () => {
        const s = slug('guarded')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['Kept'] })
        for (const request of editing(s)) {
          const before = t.events('permission_denied').length
          const res = await learner.agent.request(request)
          assert.equal(res.statusCode, 403, `${request.method} ${request.url}`)
          assert.equal(res.json().error, 'Forbidden')
          const denied = t.events('permission_denied').slice(before)
          assert.equal(denied.length, 1)
          assert.equal(denied[0]?.user_id, learner.id)
          assert.deepEqual(
            {
              required: (denied[0]?.extra as Record<string, unknown>).required,
              role: (denied[0]?.extra as Record<string, unknown>).role,
            },
            { required: 'instructor', role: 'learner' },
          )
        }
        const course = (await anonymous.get(`/api/courses/${s}`)).json().course
        assert.equal(course.title, `Title of ${s}`)
        assert.equal(course.lesson_count, 1)
      })

      test('signed out, every editing route is 401', async () => {
        const s = slug('anon-edit')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['Kept'] })
        for (const request of editing(s)) {
          const res = await anonymous.request(request)
          assert.equal(res.statusCode, 401, `${request.method} ${request.url}`)
        }
      })

      test('the CSRF guard covers these routes too', async () => {
        const res = await instructor.agent.request({
          method: 'POST',
          url: '/api/courses',
          json: { slug: slug('csrf'), title: 'X' },
          csrf: false,
        })
        assert.equal(res.statusCode, 403)
        assert.equal(res.json().error, 'CSRF token missing')
      })
    })

    describe('editing, as instructors and admins', () => {
      test('create: 201, a draft by default, visible to learners once published', async () => {
        const s = slug('made')
        const created = await instructor.agent.post('/api/courses', {
          json: { slug: s, title: '  Web  basics ', description: 'What pages are made of.' },
        })
        assert.equal(created.statusCode, 201)
        const course = created.json().course
        assert.equal(course.title, 'Web basics', 'titles are trimmed, runs of spaces collapsed')
        assert.equal(course.published, false)
        assert.deepEqual(course.lessons, [])
        assert.equal((await learner.agent.get(`/api/courses/${s}`)).statusCode, 404)

        const published = await admin.agent.patch(`/api/courses/${s}`, { json: { published: true } })
        assert.equal(published.statusCode, 200)
        assert.equal(published.json().course.published, true)
        assert.equal((await learner.agent.get(`/api/courses/${s}`)).statusCode, 200)
      })

      test('create refuses a taken slug (409), a bad slug, a blank title and unknown fields (400)', async () => {
        const s = slug('taken')
        assert.equal((await instructor.agent.post('/api/courses', { json: { slug: s, title: 'One' } })).statusCode, 201)
        const taken = await instructor.agent.post('/api/courses', { json: { slug: s, title: 'Two' } })
        assert.equal(taken.statusCode, 409)
        assert.equal(taken.json().error, 'A course with this slug already exists')

        for (const [body, message] of [
          [{ slug: 'Bad Slug', title: 'X' }, /^slug /],
          [{ slug: '-x', title: 'X' }, /^slug /],
          [{ slug: slug('blank'), title: '   ' }, /^title must not be empty$/],
          [{ slug: slug('extra'), title: 'X', created_by: 1 }, /^Unknown field: created_by$/],
          [{ slug: slug('extra'), title: 'X', published: 'yes' }, /^published must be boolean$/],
          [{ slug: slug('no-title') }, /^Missing field: title$/],
        ] as const) {
          const res = await instructor.agent.post('/api/courses', { json: body })
          assert.equal(res.statusCode, 400, JSON.stringify(body))
          assert.match(res.json().error, message)
        }
      })

      test('without a slug, one is made from the title, and made unique', async () => {
        const title = `CSS: the Box Model, part ${++serial}!`
        const first = await instructor.agent.post('/api/courses', { json: { title } })
        assert.equal(first.statusCode, 201)
        assert.equal(first.json().course.slug, `css-the-box-model-part-${serial}`)
        const second = await instructor.agent.post('/api/courses', { json: { title } })
        assert.equal(second.json().course.slug, `css-the-box-model-part-${serial}-2`)
        const accents = await instructor.agent.post('/api/courses', { json: { title: `Café ${serial} à la carte` } })
        assert.equal(accents.json().course.slug, `cafe-${serial}-a-la-carte`)
        const none = await instructor.agent.post('/api/courses', { json: { title: '日本語' } })
        assert.equal(none.statusCode, 400)
        assert.match(none.json().error, /^slug is required/)
      })

      test('PATCH changes title, description and slug; an empty PATCH or a taken slug is refused', async () => {
        const s = slug('rename')
        const other = slug('other')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A'] })
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: other })
        const renamed = `${s}-renamed`
        const res = await instructor.agent.patch(`/api/courses/${s}`, {
          json: { slug: renamed, title: 'Renamed', description: 'New words' },
        })
        assert.equal(res.statusCode, 200)
        assert.equal(res.json().course.slug, renamed)
        assert.equal(res.json().course.description, 'New words')
        assert.equal((await anonymous.get(`/api/courses/${s}`)).statusCode, 404)
        assert.equal((await anonymous.get(`/api/courses/${renamed}/lessons/1`)).statusCode, 200)

        assert.equal((await instructor.agent.patch(`/api/courses/${renamed}`, { json: {} })).statusCode, 400)
        const clash = await instructor.agent.patch(`/api/courses/${renamed}`, { json: { slug: other } })
        assert.equal(clash.statusCode, 409)
        assert.equal((await instructor.agent.patch(`/api/courses/nope-${s}`, { json: { title: 'x' } })).statusCode, 404)
      })

      test('DELETE removes the course with its lessons and everyone’s progress in it', async () => {
        const s = slug('doomed')
        const { id } = await createWork(t.database.db, 'course', {
          owners: [instructor.id],
          slug: s,
          parts: ['A', 'B'],
        })
        await learner.agent.post(`/api/courses/${s}/lessons/1/complete`)
        assert.equal((await admin.agent.delete(`/api/courses/${s}`)).statusCode, 204)
        assert.equal((await anonymous.get(`/api/courses/${s}`)).statusCode, 404)
        const left = await t.database.db
          .selectFrom('enrollments')
          .select('user_id')
          .where('course_id', '=', id)
          .execute()
        assert.deepEqual(left, [])
        assert.equal((await admin.agent.delete(`/api/courses/${s}`)).statusCode, 404)
      })

      test('lessons: add at the end or at a place, edit, move, delete; numbers stay 1..N', async () => {
        const s = slug('lessons')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B', 'C'] })
        const titles = async () =>
          (await anonymous.get(`/api/courses/${s}`)).json().course.lessons.map((l: { title: string }) => l.title)

        const added = await instructor.agent.post(`/api/courses/${s}/lessons`, {
          json: { title: 'D', body: '**Bold** <script>x</script>' },
        })
        assert.equal(added.statusCode, 201)
        assert.equal(added.json().lesson.n, 4)
        assert.equal(added.json().lesson.body_html, '<p><strong>Bold</strong> </p>\n')

        const first = await instructor.agent.post(`/api/courses/${s}/lessons`, {
          json: { title: 'Zero', body: 'Start', position: 1 },
        })
        assert.equal(first.json().lesson.n, 1)
        assert.deepEqual(await titles(), ['Zero', 'A', 'B', 'C', 'D'])

        const moved = await admin.agent.patch(`/api/courses/${s}/lessons/5`, { json: { position: 2 } })
        assert.equal(moved.statusCode, 200)
        assert.equal(moved.json().lesson.n, 2)
        assert.equal(moved.json().lesson.title, 'D')
        assert.deepEqual(await titles(), ['Zero', 'D', 'A', 'B', 'C'])

        const down = await instructor.agent.patch(`/api/courses/${s}/lessons/1`, {
          json: { position: 5, title: 'Last', body: 'Moved *down*' },
        })
        assert.equal(down.json().lesson.n, 5)
        assert.equal(down.json().lesson.body_html, '<p>Moved <em>down</em></p>\n')
        assert.deepEqual(await titles(), ['D', 'A', 'B', 'C', 'Last'])

        const beyond = await instructor.agent.patch(`/api/courses/${s}/lessons/1`, { json: { position: 6 } })
        assert.equal(beyond.statusCode, 400)
        assert.equal(beyond.json().error, 'position must be between 1 and 5')
        assert.equal(
          (await instructor.agent.post(`/api/courses/${s}/lessons`, { json: { title: 'X', body: 'Y', position: 7 } }))
            .statusCode,
          400,
        )
        assert.deepEqual(await titles(), ['D', 'A', 'B', 'C', 'Last'], 'a refused move changes nothing')

        assert.equal((await instructor.agent.delete(`/api/courses/${s}/lessons/2`)).statusCode, 204)
        assert.deepEqual(await titles(), ['D', 'B', 'C', 'Last'])
        assert.equal((await anonymous.get(`/api/courses/${s}/lessons/4`)).json().lesson.title, 'Last')
        assert.equal((await instructor.agent.delete(`/api/courses/${s}/lessons/9`)).statusCode, 404)
      })

      test('a lesson needs a title and a body, and takes no other field', async () => {
        const s = slug('lesson-fields')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s })
        for (const body of [
          { title: 'T' },
          { body: 'B' },
          { title: 'T', body: 'B', course_id: 1 },
          { title: '', body: 'B' },
        ]) {
          const res = await instructor.agent.post(`/api/courses/${s}/lessons`, { json: body })
          assert.equal(res.statusCode, 400, JSON.stringify(body))
        }
        assert.equal(
          (await instructor.agent.patch(`/api/courses/${s}/lessons/1`, { json: { title: 'x' } })).statusCode,
          404,
        )
      })

      test('completion survives a reorder: progress belongs to the lesson, not its number', async () => {
        const s = slug('reorder')
        await createWork(t.database.db, 'course', { owners: [instructor.id], slug: s, parts: ['A', 'B', 'C'] })
        await learner.agent.post(`/api/courses/${s}/lessons/1/complete`)
        await instructor.agent.patch(`/api/courses/${s}/lessons/1`, { json: { position: 3 } })
        const lessons = (await learner.agent.get(`/api/courses/${s}`)).json().course.lessons
        assert.deepEqual(
          lessons.map((l: { title: string; completed: boolean }) => [l.title, l.completed]),
          [
            ['B', false],
            ['C', false],
            ['A', true],
          ],
        )
      })
    })
  })
}
