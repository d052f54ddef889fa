import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, signedIn, type SignedInUser } from '../support/factories.ts'

/**
 * Every GET route of the app, as full paths, read from Fastify's own route tree: a route added
 * later is walked too, without this file knowing of it. Each printed node holds the part of the
 * path after its parent's ("├── me (GET)" then "│   └── trics (GET)" is /metrics).
 */
function getRoutes(t: TestApp): string[] {
  const tree = t.app.printRoutes({ method: 'GET', commonPrefix: false })
  const prefixes: string[] = []
  const paths: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[└├]── (\S+)(?: \(([^)]*)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    const path = (prefixes[depth - 1] ?? '') + match[2]!
    prefixes[depth] = path
    prefixes.length = depth + 1
    if (match[3]?.split(', ').includes('GET')) paths.push(path)
  }
  return paths
}

describe('personal JSON is never stored by a cache (Cache-Control: no-store)', () => {
  let t: TestApp
  let admin: SignedInUser

  before(async () => {
    t = await buildTestApp()
    admin = await signedIn(t, 'admin')
    await createWork(t.database.db, 'course', { slug: 'web', parts: ['One', 'Two'] })
    await createWork(t.database.db, 'ebook', { slug: 'book', parts: ['One'] })
    await admin.agent.post('/api/courses/web/enroll')
  })
  after(() => t.close())

  test('every GET route under /api answers no-store, signed in as an admin and signed out', async () => {
    const values: Record<string, string> = { slug: 'web', n: '1', id: String(admin.id), key: 'ip:192.0.2.1' }
    const apiRoutes = getRoutes(t).filter((path) => path.startsWith('/api/'))
    // The walk sees the routes this suite is about, so it cannot pass by walking nothing.
    for (const expected of ['/api/me', '/api/me/progress', '/api/courses', '/api/admin/users', '/api/ebooks/:slug']) {
      assert.ok(apiRoutes.includes(expected), `${expected} in ${apiRoutes.join(' ')}`)
    }
    const anonymous = createAgent(t.app)
    let answered = 0
    for (const route of apiRoutes) {
      const url = route
        .replace(/\/ebooks\/:slug/, '/ebooks/book')
        .replace(/:([A-Za-z]+)/g, (_, name: string) => values[name] ?? 'x')
      for (const [who, agent] of [
        ['admin', admin.agent],
        ['anonymous', anonymous],
      ] as const) {
        const res = await agent.get(url)
        assert.equal(res.headers['cache-control'], 'no-store', `${who} GET ${url} → ${res.statusCode}`)
        if (who === 'admin' && res.statusCode === 200) answered++
      }
    }
    assert.ok(answered >= 10, `only ${answered} routes answered 200: the walk would prove little`)
  })

  test('a route that chooses its own caching keeps it (public assets stay immutable)', async () => {
    const page = await createAgent(t.app).get('/login')
    const asset = /href="(\/assets\/styles\.[^"]+\.css)"/.exec(page.body)?.[1]
    assert.ok(asset, 'the page names its stylesheet')
    const res = await createAgent(t.app).get(asset)
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['cache-control']), /immutable/)
  })
})
