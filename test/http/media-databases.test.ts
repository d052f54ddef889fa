/**
 * Lesson media and owners on each database: stored bytes come back byte for byte (BLOB on SQLite,
 * bytea on PostgreSQL), the same image uploaded at once is one row, owners are replaced whole and
 * go with their work and their user.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { databaseKinds, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import { makeJpeg, makePng } from '../support/images.ts'

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`media and owners on ${kind}`, () => {
    let t: TestApp
    let admin: SignedInUser
    let author: SignedInUser
    before(async () => {
      t = await buildTestApp({
        env: { ...MANY_USERS_ENV, RATE_LIMIT_AVATAR: '1000/1h' },
        database: kind,
        ...(kind === 'postgres' ? { postgresUrl } : {}),
      })
      admin = await signedIn(t, 'admin')
      author = await signedIn(t, 'instructor', 'author')
      assert.equal((await author.agent.post('/api/courses', { json: { title: 'Mine', slug: 'mine' } })).statusCode, 201)
    })
    after(() => t.close())

    const upload = (data: Buffer) =>
      author.agent.post('/api/media', { multipart: [{ name: 'file', filename: 'x.bin', data }] })

    test('the served bytes are the stored bytes; racing uploads of one image leave one row', async () => {
      const image = await makeJpeg(900, 700, { noise: true })
      const answers = await Promise.all([upload(image), upload(image), upload(image)])
      for (const res of answers) assert.equal(res.statusCode, 201, res.body)
      const url = answers[0]!.json().url as string
      assert.ok(answers.every((res) => res.json().url === url))
      const sha256 = url.slice('/media/'.length, -'.jpg'.length)
      const rows = await t.database.db.selectFrom('media').selectAll().where('sha256', '=', sha256).execute()
      assert.equal(rows.length, 1)
      assert.ok(Buffer.isBuffer(rows[0]!.data))
      assert.deepEqual([rows[0]!.width, rows[0]!.height, rows[0]!.created_by], [900, 700, author.id])
      const served = await t.app.inject({ url })
      assert.deepEqual(served.rawPayload, rows[0]!.data)
    })

    test('owners are replaced whole, and go with their work and their user', async () => {
      const other = await signedIn(t, 'instructor', 'other')
      const gone = await signedIn(t, 'instructor', 'gone')
      const set = await admin.agent.patch('/api/courses/mine', { json: { owners: [other.username, gone.username] } })
      assert.equal(set.statusCode, 200, set.body)
      assert.deepEqual(set.json().course.owners, [gone.username, other.username])
      // Two admins replacing the list at once take turns: one list wins whole, no error.
      const racing = await Promise.all([
        admin.agent.patch('/api/courses/mine', { json: { owners: [other.username] } }),
        admin.agent.patch('/api/courses/mine', { json: { owners: [gone.username, other.username] } }),
        admin.agent.patch('/api/courses/mine', { json: { owners: [other.username] } }),
        admin.agent.patch('/api/courses/mine', { json: { owners: [gone.username, other.username] } }),
      ])
      for (const res of racing) assert.equal(res.statusCode, 200, res.body)
      const final = await admin.agent.patch('/api/courses/mine', { json: { owners: [gone.username, other.username] } })
      assert.deepEqual(final.json().course.owners, [gone.username, other.username])
      // /admin lists them (one query for every work's owners) and marks what an instructor may edit.
      const overview = await admin.agent.get('/admin', { headers: { accept: 'text/html' } })
      assert.ok(overview.body.includes(`Owners: ${gone.username}, ${other.username}`))
      const theirs = await other.agent.get('/admin', { headers: { accept: 'text/html' } })
      assert.match(theirs.body, /href="\/admin\/courses\/mine">Edit/)
      // And the report of the course they own.
      assert.equal((await other.agent.get('/api/courses/mine/learners')).statusCode, 200)
      await t.database.db.deleteFrom('users').where('id', '=', gone.id).execute()
      const after = await admin.agent.patch('/api/courses/mine', { json: { title: 'Still mine' } })
      assert.deepEqual(after.json().course.owners, [other.username])
      assert.equal((await admin.agent.delete('/api/courses/mine')).statusCode, 204)
      const left = await t.database.db.selectFrom('work_owners').select('id').where('user_id', '=', other.id).execute()
      assert.deepEqual(left, [])
      // An upload still works for an admin after the course is gone; the media stay.
      const res = await admin.agent.post('/api/media', {
        multipart: [{ name: 'file', filename: 'x.bin', data: await makePng(10, 10) }],
      })
      assert.equal(res.statusCode, 201)
    })
  })
}
