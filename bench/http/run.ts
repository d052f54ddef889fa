// bench/http: GET /healthz through the whole Lectern stack against bare servers, in one run.
// Usage: node --import tsx bench/http/run.ts [--seconds N] [--connections N] [--rounds N] [--instances N]
//        [--compare DIR] [--calibrate]
//
// --compare DIR adds the three Lectern variants of another checkout (with its node_modules),
// e.g. `git worktree add ../before HEAD~1 && cp -r node_modules ../before/`: a change is
// measured against the code before it in the same run, loaded in alternation.
//
// Each variant runs as several processes (--instances, 2 by default): two processes of the same
// code were seen to differ by several percent for their whole life, so with one process per
// variant a comparison says partly which process was lucky. Every server runs at once (an idle
// one costs nothing), each is warmed up, and the variants are loaded in turn, every process of a
// variant for --seconds, round after round, in reverse order every other round; each figure is
// the median over the rounds. A machine whose speed drifts during the run then shifts every
// variant alike instead of whichever happened to run last. The costs (logging, the stack against
// bare Fastify) are the median of each round's own ratio: variants loaded seconds apart are
// compared with each other, never with a round taken a minute later at another speed.
//
// Beside the bare servers, bare Fastify with Lectern's response headers (the security set and
// X-Request-ID) says how much of the stack's cost is those headers alone. --calibrate adds bare
// Fastify with 5, 10 and 20 µs of busy work per request: what a µs of server time costs here.
//
// Two measures: requests per second under the load, and the server process's CPU time per
// request (/proc, every thread of it). On two cores the load generator takes one, and it, not
// the server, is what limits the bare servers: their req/s is a floor, while CPU per request
// says what each server would serve with a core to itself (its capacity, 1 / CPU per request).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { processCpuSeconds } from '../support/cpu.ts'
import { load, table, type LoadResult } from '../support/load.ts'
import { ROOT, startProcess, type BenchServer } from '../support/server.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '10' },
    instances: { type: 'string', default: '2' },
    compare: { type: 'string' },
    calibrate: { type: 'boolean', default: false },
  },
})
const durationSeconds = Math.min(60, Number(values.seconds))
const connections = Math.min(200, Number(values.connections))
const rounds = Math.min(40, Math.max(1, Number(values.rounds)))
const instances = Math.min(4, Math.max(1, Number(values.instances)))
/**
 * Load on each process before any is measured: a fresh server runs at half its speed or less
 * for its first few seconds of load (the JIT compiler at work), so a short warm-up measures that.
 */
const WARM_UP_SECONDS = 6
const logDir = mkdtempSync(join(tmpdir(), 'lectern-bench-logs-'))

interface Variant {
  name: string
  /** The Lectern checkout a variant runs; none for the bare servers. */
  checkout?: string
  start: () => Promise<BenchServer>
}

/** Request lines are INFO: LOG_LEVEL=warning turns request logging off, everything else stays. */
function lecternVariants(label: string, root: string): Variant[] {
  const start = (env: () => Record<string, string>) => () => startProcess([join(root, 'bin/lectern'), 'serve'], env())
  return [
    { name: `${label}, request logging off`, checkout: label, start: start(() => ({ LOG_LEVEL: 'warning' })) },
    { name: `${label}, logging to stdout`, checkout: label, start: start(() => ({ LOG_LEVEL: 'info' })) },
    {
      name: `${label}, stdout + LOG_FILE`,
      checkout: label,
      // A file of its own for each process.
      start: start(() => ({ LOG_LEVEL: 'info', LOG_FILE: join(mkdtempSync(join(logDir, 'process-')), 'lectern.log') })),
    },
  ]
}

const bare = (name: string, kind: string): Variant => ({
  name,
  start: () => startProcess(['--import', 'tsx', join(ROOT, 'bench/http/bare.ts'), kind]),
})
const WORK_US = [5, 10, 20]

const variants: Variant[] = [
  bare('bare node:http', 'node'),
  bare('bare Fastify', 'fastify'),
  bare("bare Fastify + Lectern's response headers", 'fastify-headers'),
  ...(values.calibrate ? WORK_US.map((us) => bare(`bare Fastify + ${us} µs of work`, `fastify-work=${us}`)) : []),
  ...lecternVariants('Lectern', ROOT),
  ...(values.compare ? lecternVariants(`${values.compare}`, resolve(values.compare)) : []),
]

/** The q-quantile of xs, interpolated between neighbours (q = 0.5: the median). */
const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = sorted[Math.floor(at)]!
  return below + (sorted[Math.ceil(at)]! - below) * (at - Math.floor(at))
}
const median = (xs: number[]) => quantile(xs, 0.5)

type Sample = LoadResult & { cpuUsPerRequest: number }

/** One slice of load on each of a variant's processes, summed into one sample. */
async function loadVariant(processes: BenchServer[]): Promise<Sample> {
  const parts: Sample[] = []
  for (const server of processes) {
    const cpuBefore = processCpuSeconds(server.pid)
    const result = await load(`${server.url}/healthz`, { connections, durationSeconds })
    const cpuUsPerRequest = ((processCpuSeconds(server.pid) - cpuBefore) * 1e6) / result.totalRequests
    parts.push({ ...result, cpuUsPerRequest })
  }
  const sum = (figure: (s: Sample) => number) => parts.reduce((total, part) => total + figure(part), 0)
  const totalRequests = sum((p) => p.totalRequests)
  return {
    requestsPerSecond: sum((p) => p.requestsPerSecond) / parts.length,
    totalRequests,
    p50Ms: Math.max(...parts.map((p) => p.p50Ms)),
    p99Ms: Math.max(...parts.map((p) => p.p99Ms)),
    errors: sum((p) => p.errors),
    non2xx: sum((p) => p.non2xx),
    cpuUsPerRequest: sum((p) => p.cpuUsPerRequest * p.totalRequests) / totalRequests,
  }
}

const servers: BenchServer[][] = variants.map(() => [])
try {
  // Instances started in alternating variant order, so none is always the first one started.
  for (let instance = 0; instance < instances; instance++) {
    const order = [...variants.keys()]
    if (instance % 2 === 1) order.reverse()
    for (const i of order) servers[i]!.push(await variants[i]!.start())
  }
  for (const server of servers.flat())
    await load(`${server.url}/healthz`, { connections, durationSeconds: WARM_UP_SECONDS })

  const samples: Sample[][] = variants.map(() => [])
  for (let round = 0; round < rounds; round++) {
    const order = [...variants.keys()]
    if (round % 2 === 1) order.reverse()
    for (const i of order) samples[i]!.push(await loadVariant(servers[i]!))
  }

  /** Each round's variant a's figure divided by variant b's in the same round. */
  const ratios = (a: number, b: number, figure: (s: Sample) => number) =>
    samples[a]!.map((sample, round) => figure(sample) / figure(samples[b]![round]!))
  const paired = (a: number, b: number, figure: (s: Sample) => number) => median(ratios(a, b, figure))
  const indexOf = (name: string) => variants.findIndex((v) => v.name === name)
  const fastify = indexOf('bare Fastify')
  const rps = (s: LoadResult) => s.requestsPerSecond
  const cpu = (s: { cpuUsPerRequest: number }) => s.cpuUsPerRequest
  const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`

  const results = variants.map((variant, i) => {
    // Each Lectern variant against its own checkout's "request logging off".
    const off = variant.checkout === undefined ? -1 : indexOf(`${variant.checkout}, request logging off`)
    return {
      name: variant.name,
      requestsPerSecond: median(samples[i]!.map(rps)),
      min: Math.min(...samples[i]!.map(rps)),
      max: Math.max(...samples[i]!.map(rps)),
      p50Ms: median(samples[i]!.map((s) => s.p50Ms)),
      p99Ms: median(samples[i]!.map((s) => s.p99Ms)),
      cpuUs: median(samples[i]!.map(cpu)),
      vsFastify: paired(i, fastify, rps),
      capacityVsFastify: 1 / paired(i, fastify, cpu),
      vsLoggingOff: off === -1 ? null : paired(i, off, rps),
      capacityVsLoggingOff: off === -1 ? null : 1 / paired(i, off, cpu),
      failures: samples[i]!.reduce((sum, s) => sum + s.errors + s.non2xx, 0),
    }
  })

  console.log(
    `GET /healthz, ${connections} connections, ${rounds} rounds of ${durationSeconds}s per process, ` +
      `${instances} processes per variant, variants interleaved; medians over the rounds, ratios paired within ` +
      `each round\n`,
  )
  console.log(
    table(
      results.map((r) => ({
        variant: r.name,
        'req/s': Math.round(r.requestsPerSecond),
        'range req/s': `${Math.round(r.min)}–${Math.round(r.max)}`,
        'p50 ms': r.p50Ms,
        'p99 ms': r.p99Ms,
        'vs bare Fastify': percent(r.vsFastify),
        'vs logging off': r.vsLoggingOff === null ? '' : percent(r.vsLoggingOff),
        'CPU µs/req': r.cpuUs.toFixed(1),
        'capacity vs bare Fastify': percent(r.capacityVsFastify),
        'capacity vs logging off': r.capacityVsLoggingOff === null ? '' : percent(r.capacityVsLoggingOff),
        failures: r.failures,
      })),
    ),
  )
  const byName = (name: string) => results.find((r) => r.name === name)!
  const headers = byName("bare Fastify + Lectern's response headers")
  console.log(
    `\nLectern's response headers alone keep ${percent(headers.vsFastify)} of bare Fastify's throughput ` +
      `(${percent(headers.capacityVsFastify)} of its capacity)`,
  )
  if (values.calibrate) {
    for (const us of WORK_US) {
      const name = `bare Fastify + ${us} µs of work`
      const worked = byName(name)
      const w = indexOf(name)
      const extraCpuUs = median(samples[w]!.map((sample, round) => cpu(sample) - cpu(samples[fastify]![round]!)))
      console.log(
        `${us} µs of work per request: ${extraCpuUs.toFixed(1)} µs more server CPU per request, ` +
          `${percent(worked.vsFastify)} of bare Fastify's throughput`,
      )
    }
  }
  const loggingOff = byName('Lectern, request logging off')
  const stdout = byName('Lectern, logging to stdout')
  const full = byName('Lectern, stdout + LOG_FILE')
  const cost = (ratio: number | null) => percent(1 - (ratio ?? Number.NaN))
  /** The middle half of the rounds' own ratios (a on b), shown through `show`: how much one round's figure varies. */
  const middleHalf = (a: string, b: string, show: (ratio: number) => number) => {
    const shown = ratios(indexOf(a), indexOf(b), rps).map(show)
    return `middle half of rounds ${percent(quantile(shown, 0.25))}–${percent(quantile(shown, 0.75))}`
  }
  const asCost = (ratio: number) => 1 - ratio
  console.log(
    `whole stack with request logging off keeps ${percent(loggingOff.vsFastify)} of bare Fastify ` +
      `(${middleHalf(loggingOff.name, 'bare Fastify', (r) => r)}), with stdout + LOG_FILE ${percent(full.vsFastify)} ` +
      `(aim ≥ 50%); request logging costs ${cost(stdout.vsLoggingOff)} to stdout ` +
      `(${middleHalf(stdout.name, loggingOff.name, asCost)}) and ${cost(full.vsLoggingOff)} with LOG_FILE too ` +
      `(${middleHalf(full.name, loggingOff.name, asCost)}) (aim < 15%)`,
  )
  console.log(
    `in capacity (1 / server CPU per request): logging off keeps ${percent(loggingOff.capacityVsFastify)} of bare ` +
      `Fastify, stdout + LOG_FILE ${percent(full.capacityVsFastify)}; request logging costs ` +
      `${cost(stdout.capacityVsLoggingOff)} to stdout and ${cost(full.capacityVsLoggingOff)} with LOG_FILE too`,
  )
  const failed = results.filter((r) => r.failures > 0)
  if (failed.length > 0) {
    console.error(`\nfailed requests in: ${failed.map((r) => r.name).join(', ')}`)
    process.exitCode = 1
  }
} finally {
  await Promise.all(servers.flat().map((server) => server.stop()))
  rmSync(logDir, { recursive: true, force: true })
}
