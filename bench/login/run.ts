/**
 * Login figures: what argon2id at the production parameters costs, how many logins per second
 * a server sustains, and whether `GET /healthz` stays fast while 50 logins run at once (the key
 * derivation must run off the event loop). Every figure is printed beside a baseline measured in
 * the same run: the key derivation alone, and /healthz on an idle server.
 *
 *   node --import tsx bench/login/run.ts [--seconds N] [--concurrency N]
 *   node --import tsx bench/login/run.ts --compare DIR [--seconds N] [--rounds N] [--concurrency N]
 *
 * --compare DIR measures this checkout's login against another checkout's (with its own
 * node_modules), e.g. the code before a change: `git worktree add --detach ../before HEAD~1`, then
 * `ln -s "$PWD/node_modules" ../before/`. Both servers run at once at the production bound;
 * logins/s and server CPU per login with the right password and with a wrong one, and the two
 * 401s' latency, are measured on each in turn, figure by figure, the order reversed every other
 * round. Each ratio is the median of the rounds' own
 * ratios (this / other), beside the middle half of those ratios: how much one round varies.
 * Nothing else runs in that mode.
 *
 * Loopback only; every loop is bounded in time and count.
 */
import { spawnSync } from 'node:child_process'
import http from 'node:http'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  createPasswordHasher,
  PRODUCTION_MAX_CONCURRENT,
  PRODUCTION_PASSWORD_PARAMS,
} from '../../src/security/passwords.ts'
import { processCpuSeconds } from '../support/cpu.ts'
import { browserClient, sendOver } from '../support/http-client.ts'
import { table } from '../support/load.ts'
import { ROOT, startProcess, type BenchServer } from '../support/server.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    compare: { type: 'string' },
  },
})
const SECONDS = Math.min(60, Math.max(1, Number(values.seconds)))
// A comparison needs only enough logins at once to keep the hasher busy: every phase waits for
// the logins still in flight when it ends, and 50 of them would add seconds to each phase.
const CONCURRENCY = Math.min(200, Math.max(1, Number(values.concurrency ?? (values.compare ? 8 : 50))))
const ROUNDS = Math.min(20, Math.max(1, Number(values.rounds)))
const PROBE_INTERVAL_MS = 10
const MAX_REQUESTS_PER_LOOP = 10_000
const PASSWORD = 'bench: correct horse battery staple'

// ---------------------------------------------------------------- statistics

function percentile(samples: number[], fraction: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!
}
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-')

// ---------------------------------------------------------------- 1. the key derivation alone

interface Burst {
  bound: number
  count: number
  wallMs: number
  perSecond: number
  peakAboveBaselineMb: number
  loopP99Ms: number
  loopMaxMs: number
}

/** A burst of `count` verifications bounded at `bound`, in a fresh process (its own peak RSS). */
function burst(bound: number, count: number, env: Record<string, string> = {}): Burst {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/login/kdf-burst.ts'), String(bound), String(count)],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    },
  )
  if (run.status !== 0) throw new Error(`kdf-burst failed: ${run.stderr}`)
  return JSON.parse(run.stdout) as Burst
}

async function singleVerificationMs(): Promise<number> {
  const hasher = createPasswordHasher({ maxConcurrent: 1 })
  const digest = await hasher.hash(PASSWORD)
  const times: number[] = []
  for (let i = 0; i < 10; i++) {
    const start = performance.now()
    await hasher.verify(digest, PASSWORD)
    times.push(performance.now() - start)
  }
  return percentile(times, 0.5)
}

// ---------------------------------------------------------------- 2. a real server over loopback

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 8 })
const send = (base: string, method: string, path: string, headers?: Record<string, string>, body?: unknown) =>
  sendOver(agent, base, method, path, headers, body)
const client = (base: string) => browserClient(agent, base)

/** GET /healthz every PROBE_INTERVAL_MS until `until`, one at a time, like a load balancer's check. */
async function probeHealth(base: string, until: number) {
  const latencies: number[] = []
  let failures = 0
  while (performance.now() < until && latencies.length < MAX_REQUESTS_PER_LOOP) {
    const reply = await send(base, 'GET', '/healthz')
    if (reply.status === 200) latencies.push(reply.ms)
    else failures++
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS))
  }
  return { latencies, failures }
}

async function loginLoop(
  base: string,
  username: string,
  password: string,
  until: number,
  latencies: number[],
  statuses: Map<number, number>,
) {
  const browser = client(base)
  for (let i = 0; i < MAX_REQUESTS_PER_LOOP && performance.now() < until; i++) {
    const reply = await browser.post('/api/login', { username, password })
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
    if (reply.status === 200 || reply.status === 401) latencies.push(reply.ms)
  }
}

const LIFTED_LIMITS = {
  LOG_LEVEL: 'warning',
  // The limits would stop a benchmark from one address within seconds: lifted for this run only.
  RATE_LIMIT_LOGIN: '100000000/1s',
  RATE_LIMIT_LOGIN_USER: '100000000/1s',
  RATE_LIMIT_REGISTER: '100000000/1s',
}

interface Phase {
  name: string
  latencies: number[]
  perSecond: number | null
  statuses: string
}

const statusText = (statuses: Map<number, number>) => [...statuses].map(([code, n]) => `${code}×${n}`).join(' ')

/** The stack of `lectern serve` with the hasher bounded at `bound` (bench/login/server.ts). */
async function serverPhases(bound: number, withBaselines: boolean): Promise<Phase[]> {
  const server = await startProcess(
    ['--import', 'tsx', join(ROOT, 'bench/login/server.ts'), String(bound)],
    LIFTED_LIMITS,
  )
  const phases: Phase[] = []
  try {
    const base = server.url
    const created = await client(base).post('/api/register', {
      username: 'bench_user',
      email: 'bench@example.org',
      password: PASSWORD,
    })
    if (created.status !== 201) throw new Error(`register answered ${created.status}: ${created.body}`)

    if (withBaselines) {
      const idle = await probeHealth(base, performance.now() + SECONDS * 1000)
      phases.push({
        name: 'GET /healthz, idle server (baseline)',
        latencies: idle.latencies,
        perSecond: null,
        statuses: idle.failures ? `${idle.failures} failed` : 'all 200',
      })

      // The two failures an attacker compares, interleaved: wrong password, unknown user.
      const wrong: number[] = []
      const unknown: number[] = []
      const prober = client(base)
      // The order alternates: the first of two back-to-back derivations is measurably slower
      // (cache and allocator warm-up), which a fixed order would report as a difference.
      const tryWrong = async (i: number) =>
        wrong.push((await prober.post('/api/login', { username: 'bench_user', password: `wrong ${i}` })).ms)
      const tryUnknown = async (i: number) =>
        unknown.push((await prober.post('/api/login', { username: `nobody_${i}`, password: `wrong ${i}` })).ms)
      for (let i = 0; i < 40; i++) {
        if (i % 2 === 0) await tryWrong(i).then(() => tryUnknown(i))
        else await tryUnknown(i).then(() => tryWrong(i))
      }
      phases.push({ name: '401 wrong password (40, alternating)', latencies: wrong, perSecond: null, statuses: '401' })
      phases.push({ name: '401 unknown user (40, alternating)', latencies: unknown, perSecond: null, statuses: '401' })

      const sequential: number[] = []
      const statuses = new Map<number, number>()
      const start = performance.now()
      await loginLoop(base, 'bench_user', PASSWORD, start + SECONDS * 1000, sequential, statuses)
      phases.push({
        name: 'POST /api/login, one at a time',
        latencies: sequential,
        perSecond: (sequential.length / (performance.now() - start)) * 1000,
        statuses: statusText(statuses),
      })
    }

    const logins: number[] = []
    const statuses = new Map<number, number>()
    const start = performance.now()
    const until = start + SECONDS * 1000
    const [health] = await Promise.all([
      probeHealth(base, until),
      ...Array.from({ length: CONCURRENCY }, () => loginLoop(base, 'bench_user', PASSWORD, until, logins, statuses)),
    ])
    const elapsedMs = performance.now() - start
    phases.push({
      name: `POST /api/login, ${CONCURRENCY} at once`,
      latencies: logins,
      perSecond: (logins.length / elapsedMs) * 1000,
      statuses: statusText(statuses),
    })
    phases.push({
      name: `GET /healthz during those logins`,
      latencies: health.latencies,
      perSecond: null,
      statuses: health.failures ? `${health.failures} failed` : 'all 200',
    })
    return phases
  } finally {
    await server.stop()
  }
}

// ---------------------------------------------------------------- 3. --compare: this checkout against another

const WRONG_PASSWORD = 'bench: not the password'
/** Wrong-password and unknown-user 401s per checkout and round, one at a time. */
const TIMING_PAIRS = 8
const WARM_UP_SECONDS = 3

/** `root`'s own bench/login/server.ts at the production bound, run from `root`, its user registered. */
async function startCheckout(root: string): Promise<BenchServer> {
  const server = await startProcess(
    ['--import', 'tsx', join(root, 'bench/login/server.ts'), String(PRODUCTION_MAX_CONCURRENT)],
    LIFTED_LIMITS,
    { cwd: root },
  )
  const created = await client(server.url)
    .post('/api/register', { username: 'bench_user', email: 'bench@example.org', password: PASSWORD })
    .catch((error: unknown) => ({ status: 0, body: String(error) }))
  if (created.status !== 201) {
    await server.stop()
    throw new Error(`${root}: register answered ${created.status}: ${created.body}`)
  }
  return server
}

interface Throughput {
  perSecond: number
  /** The server process's CPU time (every thread) per login, its GET /csrf-token included. */
  cpuMsPerLogin: number
  unexpected: number
}

/** CONCURRENCY browsers signing in as bench_user with `password` for `seconds`. */
async function throughput(server: BenchServer, password: string, expected: number, seconds = SECONDS) {
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const cpuBefore = processCpuSeconds(server.pid)
  const start = performance.now()
  const until = start + seconds * 1000
  await Promise.all(
    Array.from({ length: CONCURRENCY }, () =>
      loginLoop(server.url, 'bench_user', password, until, latencies, statuses),
    ),
  )
  const elapsedMs = performance.now() - start
  const total = [...statuses.values()].reduce((sum, n) => sum + n, 0)
  const answered = statuses.get(expected) ?? 0
  return {
    perSecond: (answered / elapsedMs) * 1000,
    cpuMsPerLogin: ((processCpuSeconds(server.pid) - cpuBefore) * 1000) / total,
    unexpected: total - answered,
  } satisfies Throughput
}

/** TIMING_PAIRS wrong-password and unknown-user 401s, one at a time, which goes first alternating. */
async function failureTimings(server: BenchServer, round: number) {
  const prober = client(server.url)
  const wrong: number[] = []
  const unknown: number[] = []
  let unexpected = 0
  const attempt = async (username: string, into: number[]) => {
    const reply = await prober.post('/api/login', { username, password: WRONG_PASSWORD })
    if (reply.status === 401) into.push(reply.ms)
    else unexpected++
  }
  for (let i = 0; i < TIMING_PAIRS; i++) {
    const user = () => attempt('bench_user', wrong)
    const nobody = () => attempt(`nobody_${round}_${i}`, unknown)
    if (i % 2 === 0) await user().then(nobody)
    else await nobody().then(user)
  }
  return { wrongMs: quantile(wrong, 0.5), unknownMs: quantile(unknown, 0.5), unexpected }
}

/** The q-quantile of xs, interpolated between neighbours (q = 0.5: the median). */
function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = sorted[Math.floor(at)]!
  return below + (sorted[Math.ceil(at)]! - below) * (at - Math.floor(at))
}

const commitOf = (root: string) =>
  spawnSync('git', ['-C', root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim() ||
  'not a git checkout'

async function compareReport(other: string) {
  const checkouts = [
    { label: 'this checkout', root: ROOT },
    { label: other, root: other },
  ]
  console.log(
    `Login, this checkout against ${other}; argon2id bound ${PRODUCTION_MAX_CONCURRENT} at a time; ` +
      `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${loadavg()[0]!.toFixed(1)}; ` +
      `${ROUNDS} rounds of ${SECONDS}s per phase, ${CONCURRENCY} browsers at once, ${TIMING_PAIRS} pairs of 401s`,
  )
  for (const { label, root } of checkouts) console.log(`  ${label}: ${commitOf(root)}`)

  const servers: BenchServer[] = []
  try {
    for (const { root } of checkouts) servers.push(await startCheckout(root))
    // A fresh process runs slower for its first seconds of load (the JIT compiler at work).
    for (const server of servers) {
      await throughput(server, PASSWORD, 200, WARM_UP_SECONDS)
      await throughput(server, WRONG_PASSWORD, 401, WARM_UP_SECONDS)
    }

    type Sample = { right: Throughput; wrong: Throughput; wrongMs: number; unknownMs: number; unexpected: number }
    const samples: Sample[][] = servers.map(() => [])
    for (let round = 0; round < ROUNDS; round++) {
      // Figure by figure, each checkout in turn: the two figures of a pair are seconds apart.
      const order = round % 2 === 0 ? [0, 1] : [1, 0]
      const right = new Map<number, Throughput>()
      const wrong = new Map<number, Throughput>()
      const timings = new Map<number, Awaited<ReturnType<typeof failureTimings>>>()
      for (const i of order) right.set(i, await throughput(servers[i]!, PASSWORD, 200))
      for (const i of [...order].reverse()) wrong.set(i, await throughput(servers[i]!, WRONG_PASSWORD, 401))
      for (const i of order) timings.set(i, await failureTimings(servers[i]!, round))
      for (const i of order) {
        const t = timings.get(i)!
        samples[i]!.push({
          right: right.get(i)!,
          wrong: wrong.get(i)!,
          wrongMs: t.wrongMs,
          unknownMs: t.unknownMs,
          unexpected: right.get(i)!.unexpected + wrong.get(i)!.unexpected + t.unexpected,
        })
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
    }

    const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`
    const figures: Array<[string, (s: Sample) => number]> = [
      ['logins/s, right password (reserve, refund, address upsert)', (s) => s.right.perSecond],
      ['logins/s, wrong password (reserve only)', (s) => s.wrong.perSecond],
      ['server CPU ms per login, right password', (s) => s.right.cpuMsPerLogin],
      ['server CPU ms per login, wrong password', (s) => s.wrong.cpuMsPerLogin],
      ['401 wrong password, p50 ms (one at a time)', (s) => s.wrongMs],
      ['401 unknown user, p50 ms (one at a time)', (s) => s.unknownMs],
    ]
    console.log(
      '\n' +
        table(
          figures.map(([name, figure]) => {
            const ratios = samples[0]!.map((sample, round) => figure(sample) / figure(samples[1]![round]!))
            return {
              figure: name,
              'this checkout': quantile(samples[0]!.map(figure), 0.5).toFixed(1),
              other: quantile(samples[1]!.map(figure), 0.5).toFixed(1),
              'this / other': percent(quantile(ratios, 0.5)),
              'middle half of rounds': `${percent(quantile(ratios, 0.25))}–${percent(quantile(ratios, 0.75))}`,
              'range of rounds': `${percent(Math.min(...ratios))}–${percent(Math.max(...ratios))}`,
            }
          }),
        ),
    )
    console.log(`\nMedians over the rounds; load average now ${loadavg()[0]!.toFixed(1)}.`)
    const unexpected = samples.map((runs) => runs.reduce((sum, s) => sum + s.unexpected, 0))
    if (unexpected.some((n) => n > 0)) {
      console.error(`unexpected statuses (neither 200 nor 401 as asked): ${unexpected.join(' / ')}`)
      process.exitCode = 1
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
  }
}

// ---------------------------------------------------------------- report

/** The key derivation alone at several bounds, then this checkout's server at each bound. */
async function boundsReport() {
  const p = PRODUCTION_PASSWORD_PARAMS
  console.log(
    `argon2id m=${p.memoryKiB} KiB, t=${p.iterations}, p=${p.parallelism}; production bound ${PRODUCTION_MAX_CONCURRENT} at a time; ` +
      `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${loadavg()[0]!.toFixed(1)}, ${SECONDS}s per phase\n`,
  )

  console.log(`One verification in-process: ${ms(await singleVerificationMs())} ms (median of 10)\n`)
  const bursts: Array<[string, Burst]> = [
    ...[1, 2].map((bound): [string, Burst] => [
      bound === PRODUCTION_MAX_CONCURRENT ? `bound ${bound} (production)` : `bound ${bound}`,
      burst(bound, CONCURRENCY),
    ]),
    ['unbounded: libuv pool of 4 (baseline)', burst(CONCURRENCY, CONCURRENCY)],
    ['unbounded, UV_THREADPOOL_SIZE=16', burst(CONCURRENCY, CONCURRENCY, { UV_THREADPOOL_SIZE: '16' })],
    [
      `bound ${PRODUCTION_MAX_CONCURRENT}, UV_THREADPOOL_SIZE=16`,
      burst(PRODUCTION_MAX_CONCURRENT, CONCURRENCY, { UV_THREADPOOL_SIZE: '16' }),
    ],
  ]
  console.log(
    table(
      bursts.map(([name, run]) => ({
        [`${CONCURRENCY} verifications at once, fresh process`]: name,
        'wall ms': ms(run.wallMs),
        'per second': ms(run.perSecond),
        'peak RSS +MB': ms(run.peakAboveBaselineMb),
        'loop delay p99 ms': ms(run.loopP99Ms),
        'loop delay max ms': ms(run.loopMaxMs),
      })),
    ),
  )

  const rows: Array<Record<string, string | number>> = []
  for (const [bound, withBaselines] of [
    [PRODUCTION_MAX_CONCURRENT, true],
    ...[1, 2, 4].filter((bound) => bound !== PRODUCTION_MAX_CONCURRENT).map((bound) => [bound, false] as const),
  ] as const) {
    for (const phase of await serverPhases(bound, withBaselines)) {
      rows.push({
        bound: bound === PRODUCTION_MAX_CONCURRENT ? `${bound} (production)` : String(bound),
        phase: phase.name,
        requests: phase.latencies.length,
        'per second': phase.perSecond === null ? '-' : ms(phase.perSecond),
        'p50 ms': ms(percentile(phase.latencies, 0.5)),
        'p99 ms': ms(percentile(phase.latencies, 0.99)),
        'max ms': ms(Math.max(...phase.latencies)),
        statuses: phase.statuses,
      })
    }
  }
  console.log(`\nServer: the stack of lectern serve (bench/login/server.ts), SQLite, LOG_LEVEL=warning, loopback\n`)
  console.log(table(rows))
  console.log(
    `\nAim: GET /healthz p99 under 20 ms while ${CONCURRENCY} logins run; load average now ${loadavg()[0]!.toFixed(1)}.`,
  )
}

try {
  if (values.compare) await compareReport(resolve(values.compare))
  else await boundsReport()
} finally {
  agent.destroy()
}
