import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createHttpClient } from '../support/http-client.ts'
import { PASSWORD } from '../support/factories.ts'

/** The app on a real socket: the requests below race each other through the kernel, not through inject. */
async function listening(env: Record<string, string>): Promise<{ t: TestApp; base: string }> {
  const t = await buildTestApp({ env: { PUBLIC_URL: 'https://learn.example.org', ...env } })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { t, base: `http://127.0.0.1:${address.port}` }
}

/** A client with its session and token ready; every one of them comes from the same address. */
async function readyClient(base: string) {
  const client = createHttpClient()
  const csrf = await client.csrfToken(base)
  return {
    client,
    csrf,
    post: (path: string, json: unknown) => client.request(`${base}${path}`, { method: 'POST', json, csrf }),
  }
}

function counts(statuses: number[]): Record<number, number> {
  const tally: Record<number, number> = {}
  for (const status of statuses) tally[status] = (tally[status] ?? 0) + 1
  return tally
}

async function invitedTokens(t: TestApp, base: string, n: number): Promise<string[]> {
  const admin = await readyClient(base)
  const created = await admin.post('/api/register', {
    username: 'teacher',
    email: 'teacher@example.org',
    password: PASSWORD,
  })
  assert.equal(created.status, 201)
  await t.database.db.updateTable('users').set({ role: 'admin' }).where('username', '=', 'teacher').execute()
  const csrf = await admin.client.csrfToken(base) // registering rotated the session
  const res = await admin.client.request(`${base}/api/admin/invitations`, {
    method: 'POST',
    csrf,
    json: { emails: Array.from({ length: n }, (_, i) => `pupil${i}@school.example`) },
  })
  assert.equal(res.status, 201)
  const body = (await res.json()) as { invitations: Array<{ invite_url: string }> }
  return body.invitations.map((invitation) => invitation.invite_url.split('/').at(-1)!)
}

describe('RATE_LIMIT_REGISTER and invitations, at once over real sockets (reserve before verify)', () => {
  test('25 bad invitation tokens at once from one address (limit 5): 5 looked at (400), 20 × 429', async () => {
    const { t, base } = await listening({ RATE_LIMIT_REGISTER: '5/1h' })
    try {
      const clients = await Promise.all(Array.from({ length: 25 }, () => readyClient(base)))
      const statuses = await Promise.all(
        clients.map(({ post }, i) =>
          post('/api/register', {
            invitation: `guess-${i}`.padEnd(43, 'x'),
            username: `guess${i}`,
            password: PASSWORD,
          }).then((r) => r.status),
        ),
      )
      assert.deepEqual(counts(statuses), { 400: 5, 429: 20 })
      assert.equal(t.events('invitation_rejected').length, 5)
    } finally {
      await t.close()
    }
  })

  test('a class of 30 invited learners behind one address registering at once (limit 5): all 201', async () => {
    const { t, base } = await listening({ RATE_LIMIT_REGISTER: '5/1h' })
    try {
      const tokens = await invitedTokens(t, base, 30)
      const clients = await Promise.all(tokens.map(() => readyClient(base)))
      const statuses = await Promise.all(
        clients.map(({ post }, i) =>
          post('/api/register', { invitation: tokens[i], username: `pupil${i}`, password: PASSWORD }).then(
            (r) => r.status,
          ),
        ),
      )
      assert.deepEqual(counts(statuses), { 201: 30 })
      assert.equal(t.events('rate_limited').length, 0)
    } finally {
      await t.close()
    }
  })
})
