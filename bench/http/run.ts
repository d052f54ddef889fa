// bench/http: GET /healthz through the whole Lectern stack against bare servers, in one run.
// Usage: node --import tsx bench/http/run.ts [--seconds N] [--connections N] [--rounds N] [--compare DIR]
//
// --compare DIR adds the three Lectern variants of another checkout (with its node_modules),
// e.g. `git worktree add ../before HEAD~1 && cp -r node_modules ../before/`: a change is
// measured against the code before it in the same run, loaded in alternation.
//
// Every server runs at once (an idle one costs nothing) and the variants are loaded in turn,
// round after round; each figure is the median over the rounds. A machine whose load drifts
// during the run then shifts every variant alike instead of whichever happened to run last.
//
// Two measures: requests per second under the load, and the server process's CPU time per
// request (/proc, every thread of it). On two cores the load generator takes one, and it, not
// the server, is what limits the bare servers: their req/s is a floor, while CPU per request
// says what each server would serve with a core to itself (its capacity, 1 / CPU per request).
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { processCpuSeconds } from '../support/cpu.ts'
import { load, table, type LoadResult } from '../support/load.ts'
import { ROOT, startProcess, type BenchServer } from '../support/server.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    compare: { type: 'string' },
  },
})
const durationSeconds = Math.min(60, Number(values.seconds))
const connections = Math.min(200, Number(values.connections))
const rounds = Math.min(20, Math.max(1, Number(values.rounds)))

/** Request lines are INFO: LOG_LEVEL=warning turns request logging off, everything else stays. */
function lecternVariants(label: string, root: string): Array<{ name: string; start: () => Promise<BenchServer> }> {
  const start = (env: Record<string, string>) => () => startProcess([join(root, 'bin/lectern'), 'serve'], env)
  return [
    { name: `${label}, request logging off`, start: start({ LOG_LEVEL: 'warning' }) },
    { name: `${label}, logging to stdout`, start: start({ LOG_LEVEL: 'info' }) },
    { name: `${label}, stdout + LOG_FILE`, start: start({ LOG_LEVEL: 'info', LOG_FILE: join('logs', 'lectern.log') }) },
  ]
}

const variants: Array<{ name: string; start: () => Promise<BenchServer> }> = [
  { name: 'bare node:http', start: () => startProcess(['--import', 'tsx', join(ROOT, 'bench/http/bare.ts'), 'node']) },
  { name: 'bare Fastify', start: () => startProcess(['--import', 'tsx', join(ROOT, 'bench/http/bare.ts'), 'fastify']) },
  ...lecternVariants('Lectern', ROOT),
  ...(values.compare ? lecternVariants(`${values.compare}`, resolve(values.compare)) : []),
]

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const servers: BenchServer[] = []
try {
  for (const variant of variants) servers.push(await variant.start())
  for (const server of servers) await load(`${server.url}/healthz`, { connections, durationSeconds: 1 }) // warm-up

  const samples: Array<Array<LoadResult & { cpuUsPerRequest: number }>> = variants.map(() => [])
  for (let round = 0; round < rounds; round++) {
    for (const [i, server] of servers.entries()) {
      const cpuBefore = processCpuSeconds(server.pid)
      const result = await load(`${server.url}/healthz`, { connections, durationSeconds })
      const cpuUsPerRequest = ((processCpuSeconds(server.pid) - cpuBefore) * 1e6) / result.totalRequests
      samples[i]!.push({ ...result, cpuUsPerRequest })
    }
  }

  const results = variants.map((variant, i) => ({
    name: variant.name,
    requestsPerSecond: median(samples[i]!.map((s) => s.requestsPerSecond)),
    min: Math.min(...samples[i]!.map((s) => s.requestsPerSecond)),
    max: Math.max(...samples[i]!.map((s) => s.requestsPerSecond)),
    p50Ms: median(samples[i]!.map((s) => s.p50Ms)),
    p99Ms: median(samples[i]!.map((s) => s.p99Ms)),
    cpuUs: median(samples[i]!.map((s) => s.cpuUsPerRequest)),
    failures: samples[i]!.reduce((sum, s) => sum + s.errors + s.non2xx, 0),
  }))
  const byName = (name: string) => results.find((r) => r.name === name)!
  const fastify = byName('bare Fastify')
  const loggingOff = byName('Lectern, request logging off')
  const percent = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`

  console.log(
    `GET /healthz, ${connections} connections, ${rounds} rounds of ${durationSeconds}s per variant, ` +
      `variants interleaved; medians over the rounds\n`,
  )
  console.log(
    table(
      results.map((r) => ({
        variant: r.name,
        'req/s': Math.round(r.requestsPerSecond),
        'range req/s': `${Math.round(r.min)}–${Math.round(r.max)}`,
        'p50 ms': r.p50Ms,
        'p99 ms': r.p99Ms,
        'vs bare Fastify': percent(r.requestsPerSecond, fastify.requestsPerSecond),
        'vs logging off': percent(r.requestsPerSecond, loggingOff.requestsPerSecond),
        'CPU µs/req': r.cpuUs.toFixed(1),
        'capacity vs bare Fastify': percent(fastify.cpuUs, r.cpuUs),
        'capacity vs logging off': percent(loggingOff.cpuUs, r.cpuUs),
        failures: r.failures,
      })),
    ),
  )
  const stdout = byName('Lectern, logging to stdout')
  const full = byName('Lectern, stdout + LOG_FILE')
  const cost = (r: { requestsPerSecond: number }) =>
    `${((1 - r.requestsPerSecond / loggingOff.requestsPerSecond) * 100).toFixed(0)}%`
  console.log(
    `\nwhole stack with request logging off keeps ${percent(loggingOff.requestsPerSecond, fastify.requestsPerSecond)} ` +
      `of bare Fastify, with stdout + LOG_FILE ${percent(full.requestsPerSecond, fastify.requestsPerSecond)} (aim ≥ 50%);` +
      ` request logging costs ${cost(stdout)} to stdout and ${cost(full)} with LOG_FILE too (aim < 15%)`,
  )
  const capacityCost = (r: { cpuUs: number }) => `${((1 - loggingOff.cpuUs / r.cpuUs) * 100).toFixed(0)}%`
  console.log(
    `in capacity (1 / server CPU per request): logging off keeps ${percent(fastify.cpuUs, loggingOff.cpuUs)} of bare ` +
      `Fastify, stdout + LOG_FILE ${percent(fastify.cpuUs, full.cpuUs)}; request logging costs ${capacityCost(stdout)} ` +
      `to stdout and ${capacityCost(full)} with LOG_FILE too`,
  )
  const failed = results.filter((r) => r.failures > 0)
  if (failed.length > 0) {
    console.error(`\nfailed requests in: ${failed.map((r) => r.name).join(', ')}`)
    process.exitCode = 1
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()))
}
