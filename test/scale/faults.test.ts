import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { multipartBody } from '../support/agent.ts'
import { createHttpClient, type HttpClient } from '../support/http-client.ts'
import { makeJpeg } from '../support/images.ts'
import { freeLoopbackPort, privatePostgresAvailable, startPrivatePostgres } from '../support/private-services.ts'
import { startServer, type RunningServer } from '../support/process.ts'
import { isCI } from '../support/services.ts'

const RECOVERY_DEADLINE_MS = 20_000

async function signedInClient(server: RunningServer, username: string): Promise<HttpClient> {
  const client = createHttpClient()
  const res = await client.send(server.url, 'POST', '/api/register', {
    json: { username, email: `${username}@faults.test`, password: 'a long passphrase 9' },
  })
  assert.equal(res.status, 201)
  return client
}

/** Starts an avatar upload over a raw socket and sends only the first part of its body. */
async function startUpload(server: RunningServer, client: HttpClient) {
  const csrfToken = await client.csrfToken(server.url)
  const { payload, headers } = multipartBody(
    [
      {
        name: 'avatar',
        filename: 'me.jpg',
        contentType: 'image/jpeg',
        data: await makeJpeg(800, 600, { noise: true }),
      },
    ],
    { csrfToken },
  )
  const cookie = [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  const url = new URL('/api/upload-avatar', server.url)
  const req = httpRequest(url, {
    method: 'POST',
    headers: { ...headers, cookie, 'content-length': String(payload.length) },
  })
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
  })
  const half = Math.floor(payload.length / 2)
  await new Promise<void>((resolve) => req.write(payload.subarray(0, half), () => resolve()))
  return { finish: () => req.end(payload.subarray(half)), response }
}

describe(
  'faults',
  { skip: privatePostgresAvailable() || isCI ? false : 'PostgreSQL server binaries not installed' },
  () => {
    test('PostgreSQL restarted while serving: 503 at once, not a hang or a crash, and recovery by itself', async () => {
      const postgres = await startPrivatePostgres(await freeLoopbackPort())
      const dataDir = mkdtempSync(join(tmpdir(), 'lectern-faults-'))
      const server = await startServer({ DATABASE_URL: postgres.url, DATA_DIR: dataDir })
      try {
        const client = await signedInClient(server, 'pg_fault')
        assert.equal((await client.request(`${server.url}/api/me`)).status, 200)

        await postgres.stop()
        const started = Date.now()
        const down = await client.request(`${server.url}/api/me`)
        assert.equal(down.status, 503)
        assert.equal(down.json<{ error: string }>().error, 'Service unavailable')
        assert.ok(Date.now() - started < 10_000, 'answered, not hung')
        // As a load balancer asks: without a session cookie.
        assert.equal((await fetch(`${server.url}/readyz`)).status, 503)
        assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the process lives on')

        await postgres.start()
        const deadline = Date.now() + RECOVERY_DEADLINE_MS
        let status = 0
        while (Date.now() < deadline) {
          status = (await client.request(`${server.url}/api/me`)).status
          if (status === 200) break
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
        assert.equal(status, 200, 'the same session works again once PostgreSQL is back')
        assert.match(server.stdout(), /"event":"database_unavailable"/)
        assert.doesNotMatch(server.stdout(), /"event":"unhandled_error"/)
      } finally {
        await server.stop()
        await postgres.destroy()
        rmSync(dataDir, { recursive: true, force: true })
      }
    })

    test('SIGTERM during an upload: the in-flight request completes, then the process exits 0', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lectern-faults-'))
      const server = await startServer({ DATA_DIR: dataDir })
      try {
        const client = await signedInClient(server, 'sigterm_fault')
        const upload = await startUpload(server, client)
        const exited = server.stop('SIGTERM')
        upload.finish()
        const { status, body } = await upload.response
        assert.equal(status, 200, body)
        assert.match(JSON.parse(body).avatar_url, /^\/avatars\//)
        assert.equal(await exited, 0)
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
      }
    })

    test('kill -9 during an upload: nothing half-stored, the account works after a restart', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lectern-faults-'))
      const first = await startServer({ DATA_DIR: dataDir })
      let second: RunningServer | undefined
      try {
        const client = await signedInClient(first, 'sigkill_fault')
        const upload = await startUpload(first, client)
        upload.response.catch(() => {}) // the socket dies with the process
        await first.stop('SIGKILL')

        second = await startServer({ DATA_DIR: dataDir })
        const me = await client.request(`${second.url}/api/me`)
        assert.equal(me.status, 200)
        assert.equal(me.json<{ user: { avatar_url: string | null } }>().user.avatar_url, null)
      } finally {
        await second?.stop()
        rmSync(dataDir, { recursive: true, force: true })
      }
    })
  },
)
