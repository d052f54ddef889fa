import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { buildTestApp } from '../support/app.ts'

describe('readiness and shutdown', () => {
  test('/readyz is 200 with the database up and 503 once it stops answering', async () => {
    const t = await buildTestApp()
    try {
      const up = await t.app.inject({ method: 'GET', url: '/readyz' })
      assert.equal(up.statusCode, 200)
      assert.deepEqual(up.json(), { status: 'ok', checks: { database: 'ok' } })
      await t.database.db.destroy()
      const down = await t.app.inject({ method: 'GET', url: '/readyz' })
      assert.equal(down.statusCode, 503)
      assert.deepEqual(down.json(), { status: 'unavailable', checks: { database: 'unavailable' } })
      assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
    } finally {
      await t.close().catch(() => {})
    }
  })

  test('closing lets an in-flight request finish and refuses new connections', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const inFlight = new Promise<void>((resolve) => (started = resolve))
    const t = await buildTestApp({
      routes: (app) =>
        app.get('/test/slow', { config: { access: 'public' } }, async () => {
          started()
          await gate
          return { done: true }
        }),
    })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    const address = t.app.server.address()
    assert.ok(address && typeof address === 'object')
    const url = `http://127.0.0.1:${address.port}`
    const pending = fetch(`${url}/test/slow`)
    await inFlight
    const closing = t.close()
    release()
    const response = await pending
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { done: true })
    await closing
    await assert.rejects(fetch(`${url}/healthz`))
  })
})
