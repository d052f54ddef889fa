// bench/scale: a mixed workload (catalogue, lesson pages, reading-position writes by signed-in
// users) against one instance on SQLite, one on PostgreSQL, and two on PostgreSQL + Redis,
// in one run. Loopback only, fixed durations.
// Usage: node --import tsx bench/scale/run.ts [--seconds N] [--connections N]
// Needs PostgreSQL and Redis: TEST_DATABASE_URL and TEST_REDIS_URL (as for the tests).
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { measureCpu, pidsNamed } from '../support/cpu.ts'
import { table } from '../support/load.ts'
import { startLectern, type BenchServer } from '../support/server.ts'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, connections: { type: 'string', default: '16' } },
})
const durationSeconds = Math.min(60, Number(values.seconds))
const connections = Math.min(200, Number(values.connections))
const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const secret = randomBytes(48).toString('base64url')
const USERS_PER_INSTANCE = 8
const GENEROUS = { RATE_LIMIT_REGISTER: '10000/1h', RATE_LIMIT_LOGIN: '10000/15m', LOG_LEVEL: 'warning' }

async function withSchema<T>(run: (url: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  const url = new URL(postgresUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  try {
    return await run(url.toString())
  } finally {
    await admin.query(`drop schema ${schema} cascade`)
    await admin.end()
  }
}

/** A signed-in user's cookie and CSRF token, registered through the API. */
async function signIn(base: string, n: number): Promise<{ cookie: string; csrf: string }> {
  const first = await fetch(`${base}/csrf-token`)
  const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!
  const { csrf_token: token } = (await first.json()) as { csrf_token: string }
  const name = `bench_${n}_${randomBytes(3).toString('hex')}`
  const res = await fetch(`${base}/api/register`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', 'x-csrftoken': token },
    body: JSON.stringify({ username: name, email: `${name}@bench.test`, password: 'bench passphrase 123' }),
  })
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`)
  const rotated = res.headers.getSetCookie()[0]!.split(';')[0]!
  const again = await fetch(`${base}/csrf-token`, { headers: { cookie: rotated } })
  return { cookie: rotated, csrf: ((await again.json()) as { csrf_token: string }).csrf_token }
}

type User = Awaited<ReturnType<typeof signIn>>

/**
 * Signed-in users for each instance, made before any load: registering hashes a password
 * (argon2id, memory-hard on purpose), which must not run while another instance is measured.
 */
const signInUsers = (bases: string[]): Promise<User[][]> =>
  Promise.all(bases.map((base) => Promise.all(Array.from({ length: USERS_PER_INSTANCE }, (_, i) => signIn(base, i)))))

/** One autocannon run per instance, all at once; each connection cycles catalogue → lesson → write. */
async function mixedLoad(bases: string[], usersByBase: User[][]) {
  const perInstance = Math.max(1, Math.floor(connections / bases.length))
  const runs = await Promise.all(
    bases.map(async (base, b) => {
      const users = usersByBase[b]!
      let next = 0
      return autocannon({
        url: base,
        connections: perInstance,
        duration: durationSeconds,
        requests: [
          { method: 'GET', path: '/api/courses' },
          { method: 'GET', path: '/api/courses/web-fundamentals/lessons/2' },
          {
            method: 'PUT',
            path: '/api/ebooks/http-in-brief/progress',
            setupRequest: (req) => {
              const user = users[next++ % users.length]!
              return {
                ...req,
                headers: { cookie: user.cookie, 'x-csrftoken': user.csrf, 'content-type': 'application/json' },
                body: JSON.stringify({ chapter: 1 + (next % 4), position: (next % 100) / 100 }),
              }
            },
          },
        ],
      })
    }),
  )
  return {
    requestsPerSecond: runs.reduce((sum, r) => sum + r.requests.average, 0),
    p99Ms: Math.max(...runs.map((r) => r.latency.p99)),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
  }
}

async function measure(name: string, envs: Array<Record<string, string>>) {
  const servers: BenchServer[] = []
  try {
    for (const env of envs) servers.push(await startLectern({ ...GENEROUS, SESSION_SECRET: secret, ...env }))
    const bases = servers.map((s) => s.url)
    const users = await signInUsers(bases)
    await mixedLoad(bases, users) // warm-up, also creates the users' progress rows
    // Where the two cores went during the measured run: the bottleneck is whoever used most.
    const { result, wallSeconds, cpuSeconds, selfCpuSeconds } = await measureCpu(
      {
        Lectern: () => servers.map((s) => s.pid),
        PostgreSQL: () => pidsNamed('postgres'),
        Redis: () => pidsNamed('redis-server'),
      },
      () => mixedLoad(bases, users),
    )
    const cores = (seconds: number) => seconds / wallSeconds
    return {
      name,
      ...result,
      cores: {
        Lectern: cores(cpuSeconds.Lectern!),
        PostgreSQL: cores(cpuSeconds.PostgreSQL!),
        Redis: cores(cpuSeconds.Redis!),
        'load generator': cores(selfCpuSeconds),
      },
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

const results = [await measure('1 instance, SQLite', [{}])]
results.push(await withSchema((url) => measure('1 instance, PostgreSQL', [{ DATABASE_URL: url }])))
results.push(
  await withSchema((url) =>
    measure('2 instances, PostgreSQL + Redis', [
      { DATABASE_URL: url, REDIS_URL: redisUrl },
      { DATABASE_URL: url, REDIS_URL: redisUrl },
    ]),
  ),
)

const base = results[0]!.requestsPerSecond
console.log(`mixed workload, ${connections} connections in all, ${durationSeconds}s per variant\n`)
console.log(
  table(
    results.map((r) => ({
      variant: r.name,
      'req/s': Math.round(r.requestsPerSecond),
      'p99 ms': r.p99Ms,
      'vs SQLite': `${((r.requestsPerSecond / base) * 100).toFixed(0)}%`,
      'non-2xx': r.non2xx,
      ...Object.fromEntries(Object.entries(r.cores).map(([group, used]) => [`${group} cores`, used.toFixed(2)])),
    })),
  ),
)
console.log(
  `\ncores: CPU time of each group during the measured run ÷ its wall time (the machine has ${availableParallelism()})`,
)
