/**
 * Owners of courses and ebooks (CONTRACT §12): the instructor who creates a work owns it,
 * imported works have no owner until an admin names one, an instructor changes only what they
 * own (403, logged permission_denied, decided before the body is read), admins change everything
 * and name owners with PATCH {"owners": [...]}. Every write route, API and editor pages, both sides.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { BROWSER_ACCEPT } from './pages-support.ts'

const KINDS = [
  { kind: 'course', works: 'courses', parts: 'lessons', work: 'course', part: 'lesson' },
  { kind: 'ebook', works: 'ebooks', parts: 'chapters', work: 'ebook', part: 'chapter' },
] as const

describe('owners', () => {
  let t: TestApp
  let admin: SignedInUser
  let owner: SignedInUser
  let other: SignedInUser
  let learner: SignedInUser

  before(async () => {
    t = await buildTestApp({ env: MANY_USERS_ENV })
    admin = await signedIn(t, 'admin')
    owner = await signedIn(t, 'instructor', 'owner')
    other = await signedIn(t, 'instructor', 'other')
    learner = await signedIn(t, 'learner')
  })
  after(() => t.close())

  const denials = () => t.events('permission_denied')

  for (const names of KINDS) {
    describe(`${names.works}`, () => {
      let serial = 0
      /** A work created through the API by `owner`, with one part. */
      async function ownedWork(): Promise<string> {
        serial++
        const slug = `${names.kind}-owned-${serial}`
        const res = await owner.agent.post(`/api/${names.works}`, { json: { title: `Owned ${serial}`, slug } })
        assert.equal(res.statusCode, 201, res.body)
        assert.deepEqual(res.json()[names.work].owners, [owner.username])
        const part = await owner.agent.post(`/api/${names.works}/${slug}/${names.parts}`, {
          json: { title: 'One', body: 'Text.' },
        })
        assert.equal(part.statusCode, 201, part.body)
        return slug
      }

      /** Every write route of the API for a work, with a valid body. */
      const apiWrites = (slug: string) =>
        [
          ['PATCH', `/api/${names.works}/${slug}`, { title: 'Changed' }],
          ['POST', `/api/${names.works}/${slug}/${names.parts}`, { title: 'Two', body: 'More.' }],
          ['PATCH', `/api/${names.works}/${slug}/${names.parts}/1`, { body: 'Edited.' }],
          ['DELETE', `/api/${names.works}/${slug}/${names.parts}/1`, undefined],
          ['DELETE', `/api/${names.works}/${slug}`, undefined],
        ] as const

      test('the creator owns it: every write route of the API works for them', async () => {
        const slug = await ownedWork()
        for (const [method, url, json] of apiWrites(slug)) {
          const res = await owner.agent.request({ method, url, ...(json ? { json } : {}) })
          assert.ok(
            res.statusCode === 200 || res.statusCode === 201 || res.statusCode === 204,
            `${method} ${url}: ${res.body}`,
          )
        }
      })

      test('another instructor: 403 logged permission_denied on every write route, nothing changed', async () => {
        const slug = await ownedWork()
        for (const [method, url, json] of apiWrites(slug)) {
          const before = denials().length
          const res = await other.agent.request({ method, url, ...(json ? { json } : {}) })
          assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`)
          assert.equal(res.json().error, 'Forbidden')
          const logged = denials().slice(before)
          assert.equal(logged.length, 1)
          assert.equal((logged[0]!.extra as { required: string }).required, 'owner')
        }
        const still = await owner.agent.get(`/api/${names.works}/${slug}`)
        assert.equal(still.statusCode, 200)
        assert.equal(still.json()[names.work].title, `Owned ${serial}`)
      })

      test('access is decided before the body: a non-owner with a bad body gets 403, not 400', async () => {
        const slug = await ownedWork()
        for (const [method, url] of apiWrites(slug)) {
          if (method === 'DELETE') continue
          const res = await other.agent.request({ method, url, json: { nonsense: true, title: 7 } })
          assert.equal(res.statusCode, 403, `${method} ${url}`)
          const broken = await other.agent.request({
            method,
            url,
            payload: '{not json',
            headers: { 'content-type': 'application/json' },
          })
          assert.equal(broken.statusCode, 403, `${method} ${url} malformed`)
        }
        // The owner with the same bad body: 400 (the body is validated for whoever may write).
        const bad = await owner.agent.patch(`/api/${names.works}/${slug}`, { json: { nonsense: true } })
        assert.equal(bad.statusCode, 400)
      })

      test('an unknown slug is 404 for an instructor too', async () => {
        const res = await other.agent.patch(`/api/${names.works}/no-such-${names.kind}`, { json: { title: 'x' } })
        assert.equal(res.statusCode, 404)
      })

      test('an imported work has no owner: instructors may not change it, admins may', async () => {
        const slug = `${names.kind}-imported`
        await createWork(t.database.db, names.kind, { slug, parts: ['First'] })
        const denied = await owner.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'Mine now' } })
        assert.equal(denied.statusCode, 403)
        const allowed = await admin.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'Admin edit' } })
        assert.equal(allowed.statusCode, 200, allowed.body)
        assert.deepEqual(allowed.json()[names.work].owners, [])
      })

      test('an admin names the owners; then the named instructor may change it, the creator no longer', async () => {
        const slug = await ownedWork()
        const set = await admin.agent.patch(`/api/${names.works}/${slug}`, {
          json: { owners: [other.username.toUpperCase()] },
        })
        assert.equal(set.statusCode, 200, set.body)
        assert.deepEqual(set.json()[names.work].owners, [other.username])
        const action = t.events('admin_action').at(-1)!.extra as { action: string; owners: string[] }
        assert.equal(action.action, 'set_owners')
        assert.deepEqual(action.owners, [other.username])
        assert.equal(
          (await other.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'By other' } })).statusCode,
          200,
        )
        assert.equal(
          (await owner.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'By owner' } })).statusCode,
          403,
        )
        // An admin may name several, and an admin as owner; an empty list leaves none.
        const two = await admin.agent.patch(`/api/${names.works}/${slug}`, {
          json: { owners: [owner.username, admin.username, owner.username] },
        })
        assert.deepEqual(two.json()[names.work].owners, [admin.username, owner.username].sort())
        const none = await admin.agent.patch(`/api/${names.works}/${slug}`, { json: { owners: [] } })
        assert.deepEqual(none.json()[names.work].owners, [])
      })

      test('owners must exist and be instructors or admins: 400, and nothing changes', async () => {
        const slug = await ownedWork()
        const unknown = await admin.agent.patch(`/api/${names.works}/${slug}`, {
          json: { title: 'Not applied', owners: [other.username, 'nobody_here'] },
        })
        assert.equal(unknown.statusCode, 400)
        assert.equal(unknown.json().error, 'Unknown username: nobody_here')
        const asLearner = await admin.agent.patch(`/api/${names.works}/${slug}`, {
          json: { owners: [learner.username] },
        })
        assert.equal(asLearner.statusCode, 400)
        assert.match(asLearner.json().error, /is a learner: owners must be instructors or admins/)
        const invalid = await admin.agent.patch(`/api/${names.works}/${slug}`, { json: { owners: ['a b'] } })
        assert.equal(invalid.statusCode, 400)
        const unchanged = await owner.agent.get(`/api/${names.works}/${slug}`)
        assert.notEqual(unchanged.json()[names.work].title, 'Not applied')
        const after = await owner.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'Still mine' } })
        assert.equal(after.statusCode, 200)
        assert.deepEqual(after.json()[names.work].owners, [owner.username])
      })

      test('only admins name owners: an owner sending "owners" gets 403 permission_denied', async () => {
        const slug = await ownedWork()
        const before = denials().length
        const res = await owner.agent.patch(`/api/${names.works}/${slug}`, { json: { owners: [other.username] } })
        assert.equal(res.statusCode, 403)
        assert.equal(denials().length, before + 1)
        assert.equal((denials().at(-1)!.extra as { required: string }).required, 'admin')
      })

      test('learners and the signed-out: 403 and 401 as before', async () => {
        const slug = await ownedWork()
        assert.equal(
          (await learner.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'x' } })).statusCode,
          403,
        )
        const anonymous = await owner.agent.patch(`/api/${names.works}/${slug}`, {
          json: { title: 'x' },
          withoutCookies: true,
          csrf: false,
        })
        assert.ok(anonymous.statusCode === 401 || anonymous.statusCode === 403)
      })

      describe('editor pages', () => {
        const page = { headers: { accept: BROWSER_ACCEPT } }
        const pageWrites = (slug: string) =>
          [
            ['GET', `/admin/${names.works}/${slug}`, undefined],
            ['POST', `/admin/${names.works}/${slug}`, { title: 'Changed', slug, description: '' }],
            ['POST', `/admin/${names.works}/${slug}/parts`, { title: 'Two', body: 'More.' }],
            ['GET', `/admin/${names.works}/${slug}/parts/1`, undefined],
            ['POST', `/admin/${names.works}/${slug}/parts/1`, { title: 'One', body: 'Edited.', position: '1' }],
            ['GET', `/admin/${names.works}/${slug}/parts/1/delete`, undefined],
            ['POST', `/admin/${names.works}/${slug}/parts/1/delete`, {}],
            ['GET', `/admin/${names.works}/${slug}/delete`, undefined],
            ['POST', `/admin/${names.works}/${slug}/delete`, {}],
          ] as const

        test('a non-owner gets a 403 page (logged) on every editor route; the owner gets through', async () => {
          const slug = await ownedWork()
          for (const [method, url, form] of pageWrites(slug)) {
            const before = denials().length
            const res = await other.agent.request({ method, url, ...page, ...(form ? { form, csrfIn: 'field' } : {}) })
            assert.equal(res.statusCode, 403, `${method} ${url}`)
            assert.match(String(res.headers['content-type']), /text\/html/)
            assert.equal(denials().length, before + 1, `${method} ${url}`)
          }
          for (const [method, url, form] of pageWrites(slug)) {
            const res = await owner.agent.request({ method, url, ...page, ...(form ? { form, csrfIn: 'field' } : {}) })
            assert.ok(res.statusCode === 200 || res.statusCode === 303, `${method} ${url}: ${res.statusCode}`)
          }
        })

        test('a non-owner is refused before the form is read: no CSRF field needed to learn 403', async () => {
          const slug = await ownedWork()
          const res = await other.agent.request({
            method: 'POST',
            url: `/admin/${names.works}/${slug}`,
            ...page,
            form: { title: '' },
            csrfIn: 'field',
          })
          assert.equal(res.statusCode, 403)
        })

        test('creating in the editor makes the instructor its owner', async () => {
          const slug = `${names.kind}-from-page-${serial++}`
          const res = await other.agent.request({
            method: 'POST',
            url: `/admin/${names.works}`,
            ...page,
            form: { title: 'From the page', slug, description: '' },
            csrfIn: 'field',
          })
          assert.equal(res.statusCode, 303, res.body)
          const view = await other.agent.patch(`/api/${names.works}/${slug}`, { json: { title: 'Mine' } })
          assert.equal(view.statusCode, 200)
          assert.deepEqual(view.json()[names.work].owners, [other.username])
        })
      })
    })
  }
})
