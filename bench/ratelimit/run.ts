/**
 * bench/ratelimit: what the rate limiter costs a request, and what it holds in memory.
 *
 *   node --import tsx bench/ratelimit/run.ts [--seconds N] [--connections N] [--keys N]
 *
 * Two routes that differ only in their policy go through the whole app (sessions, CSRF, limits):
 * unlimited (the baseline) and limited, with the in-memory store and with Redis
 * (BENCH_REDIS_URL, default redis://127.0.0.1:6379/15; skipped when it does not answer). The
 * limit is set out of reach: every request is counted, none refused.
 * 1. In process (app.inject), small batches of each route alternated: per-request overhead as
 *    the median of the per-round differences, robust to changes in machine load.
 * 2. Over HTTP, one server process, autocannon: throughput and latency of each route.
 * 3. The limiter alone, in this process: one consume, same key and distinct keys.
 * 4. Heap after N (default 1,000,000) distinct keys: the bounded store against
 *    rate-limiter-flexible's RateLimiterMemory, each in a fresh process.
 *
 * Loopback only; every loop is bounded in time or count.
 */
import { spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { createManualClock } from '../../src/lib/clock.ts'
import { MemoryCounterStore, MemoryRateLimiter } from '../../src/security/rate-limit/memory-store.ts'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'
import { load, table, type LoadResult } from '../support/load.ts'
import { pairedOverhead, type PairedResult } from './paired.ts'
import { ROOT, startProcess } from '../support/server.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    keys: { type: 'string', default: '1000000' },
  },
})
const SECONDS = Math.min(60, Math.max(1, Number(values.seconds)))
const CONNECTIONS = Math.min(200, Math.max(1, Number(values.connections)))
const KEYS = Math.min(5_000_000, Math.max(1_000, Number(values.keys)))
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15'
const MICRO_OPS = 100_000
const PAIRED_ROUNDS = 21
const PAIRED_BATCH = 300
const OUT_OF_REACH = { RATE_LIMIT_LOGIN: '1000000000/1h', LOG_LEVEL: 'warning' }

async function redisAnswers(): Promise<boolean> {
  const client = createRedisClient(REDIS_URL, { retryStrategy: () => null })
  try {
    await new Promise((resolve, reject) => {
      client.once('ready', resolve)
      client.once('end', () => reject(new Error('unreachable')))
    })
    await client.ping()
    return true
  } catch {
    return false
  } finally {
    await closeRedisClient(client)
  }
}

/** A session cookie and a CSRF token for it, as a browser would hold them. */
async function csrfHeaders(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/csrf-token`)
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!
  const { csrf_token: token } = (await res.json()) as { csrf_token: string }
  return { cookie, 'x-csrftoken': token }
}

const redisReachable = await redisAnswers()

// ---------------------------------------------------------------- 1. in process, paired

const paired: PairedResult[] = [await pairedOverhead({ rounds: PAIRED_ROUNDS, batch: PAIRED_BATCH })]
if (redisReachable)
  paired.push(await pairedOverhead({ redisUrl: REDIS_URL, rounds: PAIRED_ROUNDS, batch: PAIRED_BATCH }))

// ---------------------------------------------------------------- 2. HTTP

const stores: Array<{ store: string; env: Record<string, string> }> = [
  { store: 'memory', env: {} },
  ...(redisReachable ? [{ store: 'redis', env: { REDIS_URL } }] : []),
]
const http: Array<{ store: string; route: string } & LoadResult> = []
for (const { store, env } of stores) {
  const server = await startProcess(['--import', 'tsx', join(ROOT, 'bench/ratelimit/server.ts')], {
    ...OUT_OF_REACH,
    ...env,
  })
  try {
    const headers = await csrfHeaders(server.url)
    for (const route of ['unlimited', 'limited', 'unlimited', 'limited', 'unlimited', 'limited']) {
      const url = `${server.url}/bench/${route}`
      await load(url, { method: 'POST', headers, connections: CONNECTIONS, durationSeconds: 1 }) // warm-up
      const result = await load(url, { method: 'POST', headers, connections: CONNECTIONS, durationSeconds: SECONDS })
      http.push({ store, route, ...result })
    }
  } finally {
    await server.stop()
  }
}

// ---------------------------------------------------------------- 3. the limiter alone

async function nsPerOp(run: (i: number) => Promise<unknown>, ops = MICRO_OPS): Promise<number> {
  for (let i = 0; i < 1_000; i += 1) await run(i) // warm-up
  const started = process.hrtime.bigint()
  for (let i = 0; i < ops; i += 1) await run(i)
  return Number(process.hrtime.bigint() - started) / ops
}
const ignoreRefusal = () => {}
const micro: Array<{ limiter: string; keys: string; 'µs/op': string }> = []
{
  const store = new MemoryCounterStore({ clock: createManualClock(), onFull: () => {} })
  const limiter = new MemoryRateLimiter({ storeClient: store, keyPrefix: 'bench', points: 1e9, duration: 3600 })
  micro.push({
    limiter: 'memory (bounded LRU)',
    keys: 'one key',
    'µs/op': ((await nsPerOp(() => limiter.consume('ip:127.0.0.1'))) / 1000).toFixed(2),
  })
  micro.push({
    limiter: 'memory (bounded LRU)',
    keys: 'distinct keys',
    'µs/op': ((await nsPerOp((i) => limiter.consume(`ip:10.0.${i >> 8}.${i & 255}:${i}`))) / 1000).toFixed(2),
  })
}
if (redisReachable) {
  const client = createRedisClient(REDIS_URL, { keyPrefix: `bench:${process.pid}:` })
  try {
    await new Promise((resolve) => client.once('ready', resolve))
    const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rl', points: 1e9, duration: 3600 })
    const ops = 20_000 // a network round trip each
    micro.push({
      limiter: 'redis PING (the round trip alone)',
      keys: '-',
      'µs/op': ((await nsPerOp(() => client.ping(), ops)) / 1000).toFixed(2),
    })
    micro.push({
      limiter: 'redis (loopback)',
      keys: 'one key',
      'µs/op': ((await nsPerOp(() => limiter.consume('ip:127.0.0.1').catch(ignoreRefusal), ops)) / 1000).toFixed(2),
    })
    const keys = await client.keys(`bench:${process.pid}:*`)
    if (keys.length > 0) await client.del(...keys.map((key) => key.slice(`bench:${process.pid}:`.length)))
  } finally {
    await closeRedisClient(client)
  }
}

// ---------------------------------------------------------------- 4. memory after N distinct keys

const memory = ['bounded', 'unbounded'].map((kind) => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/ratelimit/memory.ts'), kind, String(KEYS)],
    { cwd: ROOT, encoding: 'utf8', timeout: 600_000 },
  )
  if (run.status !== 0) throw new Error(`memory.ts ${kind} failed: ${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    kind: string
    heapGrowthMb: number
    entries: number
    fullWarnings: number
    nsPerConsume: number
  }
})

// Clean up the counters the Redis variant left in BENCH_REDIS_URL.
if (redisReachable) {
  const client = createRedisClient(REDIS_URL)
  await new Promise((resolve) => client.once('ready', resolve))
  await client.del('lectern:rl:login:ip:127.0.0.1')
  await closeRedisClient(client)
}

// ---------------------------------------------------------------- report

console.log(
  `${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end of the run (other work on the machine moves the HTTP figures)\n`,
)
const mean = (rows: typeof http) => rows.reduce((sum, r) => sum + r.requestsPerSecond, 0) / rows.length
console.log(
  `1. In process: POST through the whole app by app.inject, ${PAIRED_ROUNDS} rounds of ${PAIRED_BATCH} requests per route, alternated\n`,
)
console.log(
  table(
    paired.map((p) => ({
      store: p.store,
      'unlimited µs/request': p.unlimitedUs.toFixed(1),
      'limited µs/request': p.limitedUs.toFixed(1),
      'overhead µs (median of rounds)': p.overheadUs.toFixed(1),
      overhead: `${((p.overheadUs / p.unlimitedUs) * 100).toFixed(1)}%`,
    })),
  ),
)
console.log(
  `\n2. Over HTTP: POST through the whole app, ${CONNECTIONS} connections, ${SECONDS}s per run, unlimited and limited alternated three times\n`,
)
console.log(
  table(
    http.map((r) => ({
      store: r.store,
      route: r.route,
      'req/s': Math.round(r.requestsPerSecond),
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      errors: r.errors + r.non2xx,
    })),
  ),
)
console.log('')
for (const { store } of stores) {
  const unlimited = mean(http.filter((r) => r.store === store && r.route === 'unlimited'))
  const limited = mean(http.filter((r) => r.store === store && r.route === 'limited'))
  const overheadUs = 1e6 / limited - 1e6 / unlimited
  console.log(
    `${store}: limited keeps ${((limited / unlimited) * 100).toFixed(1)}% of the unlimited throughput;` +
      ` server time per request +${overheadUs.toFixed(1)} µs (${Math.round(unlimited)} → ${Math.round(limited)} req/s)`,
  )
}
if (!redisReachable) console.log(`redis: skipped, nothing answers at ${REDIS_URL}`)

console.log(`\n3. The limiter alone, one consume at a time (${MICRO_OPS} ops; Redis 20000)\n`)
console.log(table(micro))

console.log(`\n4. Heap after ${KEYS.toLocaleString('en')} distinct keys (fresh process each, after GC)\n`)
console.log(
  table(
    memory.map((m) => ({
      store: m.kind === 'bounded' ? 'bounded LRU (ours)' : 'RateLimiterMemory (unbounded)',
      'entries kept': m.entries,
      'heap growth MB': m.heapGrowthMb.toFixed(1),
      'store_full warnings': m.fullWarnings,
      'µs/consume': (m.nsPerConsume / 1000).toFixed(2),
    })),
  ),
)
