import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { makeJpeg } from '../support/images.ts'
import { createHttpClient } from '../support/http-client.ts'
import type { PrivateRedis } from '../support/private-services.ts'
import { runLectern, type RunningServer } from '../support/process.ts'
import { logLineProblem } from '../support/log-schema.ts'
import { clusterServices, logLinesOf, startCluster, type Cluster } from './scale-support.ts'

const { postgresUrl, skip } = clusterServices()

describe('two instances on one PostgreSQL and one Redis', { skip }, () => {
  let a: RunningServer
  let b: RunningServer
  let redis: PrivateRedis
  let databaseUrl: string
  let cluster: Cluster | undefined

  before(async () => {
    cluster = await startCluster(postgresUrl!, 2)
    ;[a, b] = cluster.servers as [RunningServer, RunningServer]
    ;({ redis, databaseUrl } = cluster)
  })

  after(async () => {
    const lines = logLinesOf([a, b])
    await cluster?.stop()
    for (const line of lines) assert.equal(logLineProblem(line), null)
  })

  test('both started at once on an empty schema: migrations ran once, both are ready', async () => {
    for (const server of [a, b]) {
      const ready = await fetch(`${server.url}/readyz`)
      assert.equal(ready.status, 200)
      const body = (await ready.json()) as { checks: Record<string, string> }
      assert.equal(body.checks.database, 'ok')
    }
  })

  test('a session created through one instance is valid on the other', async () => {
    const client = createHttpClient()
    const registered = await client.send(a.url, 'POST', '/api/register', {
      json: { username: 'shared_ada', email: 'ada@scale.test', password: 'a long passphrase 1' },
    })
    assert.equal(registered.status, 201)
    const me = await client.request(`${b.url}/api/me`)
    assert.equal(me.status, 200)
    assert.equal(me.json<{ user: { username: string } }>().user.username, 'shared_ada')
  })

  test('a CSRF token issued by one instance is accepted by the other', async () => {
    const client = createHttpClient()
    await client.send(a.url, 'POST', '/api/register', {
      json: { username: 'shared_bob', email: 'bob@scale.test', password: 'a long passphrase 2' },
    })
    const patched = await client.send(b.url, 'PATCH', '/api/profile', {
      json: { display_name: 'Bob from B' },
      tokenFrom: a.url,
    })
    assert.equal(patched.status, 200)
    assert.equal(patched.json<{ user: { display_name: string } }>().user.display_name, 'Bob from B')
  })

  test('an avatar uploaded through one instance is served by the other', async () => {
    const client = createHttpClient()
    await client.send(a.url, 'POST', '/api/register', {
      json: { username: 'shared_cy', email: 'cy@scale.test', password: 'a long passphrase 3' },
    })
    const csrf = await client.csrfToken(a.url)
    const uploaded = await client.request(`${a.url}/api/upload-avatar`, {
      method: 'POST',
      csrf,
      multipart: [{ name: 'avatar', filename: 'me.jpg', contentType: 'image/jpeg', data: await makeJpeg(640, 480) }],
    })
    assert.equal(uploaded.status, 200, uploaded.body.toString())
    const avatarUrl = uploaded.json<{ avatar_url: string }>().avatar_url
    const fromA = await client.request(`${a.url}${avatarUrl}`)
    const fromB = await client.request(`${b.url}${avatarUrl}`)
    assert.equal(fromB.status, 200)
    assert.equal(fromB.headers.get('content-type'), 'image/jpeg')
    assert.equal(fromB.headers.get('x-content-type-options'), 'nosniff')
    assert.ok(fromA.body.equals(fromB.body))
  })

  test("an admin disabling a user on one instance ends that user's session on the other", async () => {
    const created = await runLectern(
      ['create-admin', '--username', 'scale_admin', '--email', 'admin@scale.test', '--password-stdin'],
      { env: { DATABASE_URL: databaseUrl }, input: 'admin passphrase 123\n' },
    )
    assert.equal(created.code, 0, created.stderr)
    const admin = createHttpClient()
    const login = await admin.send(a.url, 'POST', '/api/login', {
      json: { username: 'scale_admin', password: 'admin passphrase 123' },
    })
    assert.equal(login.status, 200)

    const learner = createHttpClient()
    const registered = await learner.send(b.url, 'POST', '/api/register', {
      json: { username: 'shared_dee', email: 'dee@scale.test', password: 'a long passphrase 4' },
    })
    const learnerId = registered.json<{ user: { id: number } }>().user.id
    assert.equal((await learner.request(`${b.url}/api/me`)).status, 200)

    const disabled = await admin.send(a.url, 'PATCH', `/api/admin/users/${learnerId}`, { json: { disabled: true } })
    assert.equal(disabled.status, 200)
    assert.equal((await learner.request(`${b.url}/api/me`)).status, 401)
  })

  // Last: every attempt from this client address counts, so later logins would be refused.
  test('login attempts spread across both instances share one rate limit: the 6th gets 429', async () => {
    // The admin's login above counted too: an operator lifts every block, for every instance.
    const cleared = await runLectern(['rate-limits', 'clear', '--all'], {
      env: { DATABASE_URL: databaseUrl, REDIS_URL: redis.url },
    })
    assert.equal(cleared.code, 0, cleared.stderr)
    const client = createHttpClient()
    const statuses: number[] = []
    for (let attempt = 1; attempt <= 6; attempt++) {
      const target = attempt % 2 === 0 ? b.url : a.url
      const res = await client.send(target, 'POST', '/api/login', {
        json: { username: 'nobody_here', password: `wrong password ${attempt}` },
      })
      statuses.push(res.status)
      if (attempt === 6)
        assert.match(res.json<{ error: string }>().error, /^Rate limit exceeded\. Try again in \d+ seconds\.$/)
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429])
  })
})
