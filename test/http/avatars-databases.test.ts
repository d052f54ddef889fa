/**
 * Avatar storage on each database: the bytes that come back are the bytes stored (a BLOB on
 * SQLite, bytea on PostgreSQL), a replacement is one row, racing uploads leave exactly one of
 * them, and the row goes with its user.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAvatarsRepository } from '../../src/modules/avatars/avatars.repository.ts'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { makeJpeg, makePng } from '../support/images.ts'
import { testDatabaseUrl } from '../support/services.ts'

const postgresUrl = testDatabaseUrl()
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const
const GENEROUS_LIMITS = { RATE_LIMIT_REGISTER: '1000/1h', RATE_LIMIT_AVATAR: '1000/1h' }

for (const kind of kinds) {
  describe(`avatars on ${kind}`, () => {
    let t: TestApp
    let serial = 0
    before(async () => {
      t = await buildTestApp({ env: GENEROUS_LIMITS, database: kind, ...(kind === 'postgres' ? { postgresUrl } : {}) })
    })
    after(() => t.close())

    async function signedIn(): Promise<{ agent: Agent; id: number }> {
      serial++
      const agent = createAgent(t)
      const res = await agent.post('/api/register', {
        json: { username: `db${serial}`, email: `db${serial}@example.org`, password: 'correct horse battery staple' },
      })
      assert.equal(res.statusCode, 201, res.body)
      return { agent, id: res.json().user.id }
    }

    const upload = (agent: Agent, data: Buffer) =>
      agent.post('/api/upload-avatar', { multipart: [{ name: 'avatar', filename: 'a.bin', data }] })

    test('the served bytes are the stored bytes, byte for byte, with the stored hash as ETag', async () => {
      const { agent, id } = await signedIn()
      const res = await upload(agent, await makeJpeg(800, 600, { noise: true }))
      assert.equal(res.statusCode, 200, res.body)
      const served = await agent.get(res.json().avatar_url)
      const row = await t.database.db
        .selectFrom('avatars')
        .selectAll()
        .where('user_id', '=', id)
        .executeTakeFirstOrThrow()
      assert.ok(Buffer.isBuffer(row.data))
      assert.deepEqual(served.rawPayload, row.data)
      assert.equal(served.headers.etag, `"${row.sha256}"`)
      assert.deepEqual([row.content_type, row.width, row.height], ['image/jpeg', 512, 384])
      assert.equal(row.updated_at, t.clock.now())
    })

    test('replacing is one upsert: still one row, now the new image', async () => {
      const { agent, id } = await signedIn()
      assert.equal((await upload(agent, await makePng(40, 40))).statusCode, 200)
      const second = await upload(agent, await makeJpeg(60, 60))
      const rows = await t.database.db.selectFrom('avatars').selectAll().where('user_id', '=', id).execute()
      assert.equal(rows.length, 1)
      assert.equal(rows[0]!.content_type, 'image/jpeg')
      assert.ok(second.json().avatar_url.endsWith(rows[0]!.file_name))
    })

    test('every stored name is recorded: an earlier one redirects, and the names go with their user', async () => {
      const { agent, id } = await signedIn()
      const first = (await upload(agent, await makePng(40, 40))).json().avatar_url
      const second = (await upload(agent, await makeJpeg(60, 60))).json().avatar_url
      const redirect = await agent.get(first)
      assert.equal(redirect.statusCode, 302)
      assert.equal(redirect.headers.location, second)
      const names = () =>
        t.database.db.selectFrom('avatar_file_names').select('file_name').where('user_id', '=', id).execute()
      assert.deepEqual((await names()).map((row) => `/avatars/${id}/${row.file_name}`).sort(), [first, second].sort())
      await t.database.db.deleteFrom('users').where('id', '=', id).execute()
      assert.deepEqual(await names(), [])
    })

    test('two uploads racing: exactly one of them is the avatar, whole', async () => {
      const { agent, id } = await signedIn()
      await agent.csrfToken()
      const [a, b] = await Promise.all([upload(agent, await makePng(30, 30)), upload(agent, await makeJpeg(30, 30))])
      assert.equal(a.statusCode, 200)
      assert.equal(b.statusCode, 200)
      const rows = await t.database.db.selectFrom('avatars').selectAll().where('user_id', '=', id).execute()
      assert.equal(rows.length, 1)
      const current = (await agent.get('/api/me')).json().user.avatar_url
      assert.ok([a.json().avatar_url, b.json().avatar_url].includes(current))
      assert.equal((await agent.get(current)).statusCode, 200)
    })

    test('the avatar goes with its user (ON DELETE CASCADE); an upsert for a missing user is refused', async () => {
      const { agent, id } = await signedIn()
      assert.equal((await upload(agent, await makePng(20, 20))).statusCode, 200)
      await t.database.db.deleteFrom('users').where('id', '=', id).execute()
      const rows = await t.database.db.selectFrom('avatars').select('user_id').where('user_id', '=', id).execute()
      assert.equal(rows.length, 0)
      await assert.rejects(
        createAvatarsRepository(t.database.db).replace({
          user_id: id,
          content_type: 'image/png',
          data: Buffer.from('x'),
          sha256: '0'.repeat(64),
          file_name: '0000000000000000.png',
          width: 1,
          height: 1,
          updated_at: 0,
        }),
        { name: 'AvatarOwnerMissingError' },
      )
    })
  })
}
