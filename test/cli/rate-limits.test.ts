import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { after, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { runRateLimits, type RateLimitsCommandDeps } from '../../src/cli/rate-limits.ts'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'
import { createAgent, type Agent } from '../support/agent.ts'
import { buildTestApp, TEST_SESSION_SECRET, type TestApp } from '../support/app.ts'
import { runLectern } from '../support/process.ts'
import { testRedisUrl } from '../support/services.ts'

function collector() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return { stream, text: () => text }
}

/** `lectern rate-limits ARGV` in-process, with the operator's environment. */
async function lectern(argv: string[], env: Record<string, string>, deps: RateLimitsCommandDeps = {}) {
  const stdout = collector()
  const stderr = collector()
  const code = await runRateLimits(
    argv,
    {
      stdin: Readable.from([]),
      stdout: stdout.stream,
      stderr: stderr.stream,
      env,
      now: () => new Date(),
      stderrIsTTY: false,
      stdinIsTTY: false,
    },
    deps,
  )
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

function limitedRoutes(app: FastifyInstance) {
  app.post('/t/login', { config: { access: 'public', rateLimit: 'login' } }, async () => ({ ok: true }))
}

async function postTimes(agent: Agent, times: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < times; i += 1) statuses.push((await agent.post('/t/login', { json: {} })).statusCode)
  return statuses
}

/** A server app and the command line sharing one DATA_DIR (its SQLite file and its secret), as on a real host. */
async function serverWithDataDir(extraEnv: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'lectern-rate-limits-cli-'))
  const env = { DATA_DIR: dataDir, SESSION_SECRET: TEST_SESSION_SECRET, ...extraEnv }
  const database: DatabaseHandle = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(dataDir) })
  await migrateToLatest(database.db)
  // The command line reads the block list with the real clock: the app's clock starts at now.
  const t: TestApp = await buildTestApp({
    env,
    clock: createManualClock(Date.now()),
    routes: limitedRoutes,
    deps: { database },
  })
  return {
    t,
    env,
    async close() {
      await t.close()
      await database.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

describe('lectern rate-limits, in-memory counters (blocks listed in the database)', () => {
  test('list shows a block; clear KEY lifts it at the next attempt; counting starts afresh', async () => {
    const server = await serverWithDataDir()
    try {
      const agent = createAgent(server.t)
      assert.deepEqual(await postTimes(agent, 6), [200, 200, 200, 200, 200, 429])

      const listed = await lectern(['list'], server.env)
      assert.equal(listed.code, 0, listed.stderr)
      // The app's clock started at the real time; the command line reads it a moment later.
      assert.match(listed.stdout, /^KEY\s+POLICY\s+RESETS IN\nlogin:ip:127\.0\.0\.1\s+login\s+(89\d|900)s\n$/)
      const json = JSON.parse((await lectern(['list', '--json'], server.env)).stdout) as { blocks: any[] }
      const [{ resets_in_seconds, ...block }] = json.blocks
      assert.deepEqual(block, { key: 'login:ip:127.0.0.1', policy: 'login', key_kind: 'ip' })
      assert.ok(resets_in_seconds > 890 && resets_in_seconds <= 900, String(resets_in_seconds))

      const cleared = await lectern(['clear', 'login:ip:127.0.0.1'], server.env)
      assert.equal(cleared.code, 0, cleared.stderr)
      assert.equal(cleared.stdout, 'Cleared login:ip:127.0.0.1.\n')
      assert.equal((await lectern(['list'], server.env)).stdout, 'No rate-limit blocks.\n')
      // A refused client re-reads its block at most once a second (BLOCK_RECHECK_INTERVAL_MS).
      server.t.clock.advance(1_000)
      assert.deepEqual(await postTimes(agent, 6), [200, 200, 200, 200, 200, 429], 'a fresh count, enforced again')
      assert.match((await lectern(['list'], server.env)).stdout, /login:ip:127\.0\.0\.1/, 'and listed again')

      const again = await lectern(['clear', 'login:ip:198.51.100.1'], server.env)
      assert.equal(again.code, 1)
      assert.match(again.stderr, /no current block for login:ip:198\.51\.100\.1/)
    } finally {
      await server.close()
    }
  })

  test('clear --username lifts the failed-login block of a username, in any case', async () => {
    const server = await serverWithDataDir()
    try {
      const { loginUser } = server.t.app.rateLimits
      for (let i = 0; i < 10; i += 1) await loginUser.consumeFailure('Ada')
      const listed = JSON.parse((await lectern(['list', '--json'], server.env)).stdout) as { blocks: any[] }
      assert.equal(listed.blocks.length, 1)
      assert.match(listed.blocks[0].key, /^login_user:username:[0-9a-f]{32}$/)
      assert.equal(listed.blocks[0].key.includes('ada'), false, 'the username appears only as its keyed hash')

      const cleared = await lectern(['clear', '--username', 'ADA'], server.env)
      assert.equal(cleared.code, 0, cleared.stderr)
      assert.equal(cleared.stdout, 'Cleared username:ADA.\n')
      assert.equal((await lectern(['list', '--json'], server.env)).stdout, '{"blocks":[]}\n')
    } finally {
      await server.close()
    }
  })

  test('clear --all lifts every block', async () => {
    const server = await serverWithDataDir({ RATE_LIMIT_LOGIN: '1/15m' })
    try {
      const agent = createAgent(server.t)
      assert.deepEqual(await postTimes(agent, 2), [200, 429])
      for (let i = 0; i < 10; i += 1) await server.t.app.rateLimits.loginUser.consumeFailure('bob')
      const cleared = await lectern(['clear', '--all'], server.env)
      assert.equal(cleared.code, 0)
      assert.equal(cleared.stdout, 'Cleared 2 rate-limit blocks.\n')
      server.t.clock.advance(1_000)
      assert.deepEqual(await postTimes(agent, 2), [200, 429])
    } finally {
      await server.close()
    }
  })
})

const redisUrl = testRedisUrl()

describe('lectern rate-limits with REDIS_URL (the shared counters)', { skip: redisUrl === undefined }, () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`
  const redis = createRedisClient(redisUrl ?? 'redis://127.0.0.1:1', { keyPrefix: prefix })
  // The command's own connection, isolated under the same prefix.
  const deps: RateLimitsCommandDeps = { openRedis: () => redis }

  after(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(prefix.length)))
    await closeRedisClient(redis)
  })

  test('list and clear act on Redis directly, so every instance sees the change at once', async () => {
    const env = { REDIS_URL: redisUrl!, SESSION_SECRET: TEST_SESSION_SECRET, RATE_LIMIT_LOGIN: '2/15m' }
    const t = await buildTestApp({ env, routes: limitedRoutes, deps: { redis } })
    try {
      const agent = createAgent(t)
      assert.deepEqual(await postTimes(agent, 3), [200, 200, 429])
      const listed = await lectern(['list', '--json'], env, deps)
      const { blocks } = JSON.parse(listed.stdout) as { blocks: any[] }
      assert.deepEqual(
        blocks.map((b) => [b.key, b.policy, b.key_kind]),
        [['login:ip:127.0.0.1', 'login', 'ip']],
      )
      const cleared = await lectern(['clear', 'login:ip:127.0.0.1'], env, deps)
      assert.equal(cleared.code, 0, cleared.stderr)
      assert.deepEqual(await postTimes(agent, 3), [200, 200, 429], 'lifted at once')
      assert.equal((await lectern(['clear', '--all'], env, deps)).stdout, 'Cleared 1 rate-limit block.\n')
      assert.deepEqual(await postTimes(agent, 1), [200])
    } finally {
      await t.close()
    }
  })
})

describe('lectern rate-limits: usage', () => {
  test('a missing or unknown subcommand, a bad KEY or extra arguments exit 2 before touching any store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-rate-limits-cli-'))
    try {
      const env = { DATA_DIR: dataDir }
      for (const argv of [[], ['frobnicate'], ['clear'], ['clear', 'a', 'b'], ['clear', 'not-a-key'], ['list', 'x']]) {
        const result = await lectern(argv, env)
        assert.equal(result.code, 2, `rate-limits ${argv.join(' ')}: ${result.stderr}`)
        assert.match(result.stderr, /^lectern rate-limits: /)
      }
      assert.equal((await lectern(['clear', '--all', 'login:ip:1.2.3.4'], env)).code, 2)
      assert.equal((await lectern(['list'], { ...env, RATE_LIMIT_LOGIN: 'often' })).code, 2)
      const empty = await lectern(['list'], env)
      assert.deepEqual(empty, { code: 0, stdout: 'No rate-limit blocks.\n', stderr: '' })
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('bin/lectern rate-limits, as a process', () => {
  test('--help explains the command; it is listed in lectern --help', async () => {
    const help = await runLectern(['rate-limits', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: lectern rate-limits list/)
    assert.match((await runLectern(['--help'])).stdout, /rate-limits/)
  })

  test('a usage error exits 2; an unreachable Redis exits 1 with a message', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-rate-limits-cli-'))
    try {
      const usage = await runLectern(['rate-limits', 'clear'], { env: { DATA_DIR: dataDir } })
      assert.equal(usage.code, 2)
      assert.match(usage.stderr, /clear takes one KEY, --username NAME, or --all/)
      const unreachable = await runLectern(['rate-limits', 'list'], {
        env: { DATA_DIR: dataDir, REDIS_URL: 'redis://127.0.0.1:1' },
      })
      assert.equal(unreachable.code, 1)
      assert.match(unreachable.stderr, /Redis is unreachable/)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
