// bench/http: GET /healthz through the whole Lectern stack against bare servers, in one run.
// Usage: node --import tsx bench/http/run.ts [--seconds N] [--connections N]
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { load, table, type LoadResult } from '../support/load.ts'
import { ROOT, startLectern, startProcess, type BenchServer } from '../support/server.ts'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '10' } },
})
const durationSeconds = Math.min(60, Number(values.seconds))
const connections = Math.min(200, Number(values.connections))

const variants: Array<{ name: string; start: () => Promise<BenchServer> }> = [
  { name: 'bare node:http', start: () => startProcess(['--import', 'tsx', join(ROOT, 'bench/http/bare.ts'), 'node']) },
  { name: 'bare Fastify', start: () => startProcess(['--import', 'tsx', join(ROOT, 'bench/http/bare.ts'), 'fastify']) },
  // Request lines are INFO: LOG_LEVEL=warning turns request logging off, everything else stays.
  { name: 'Lectern, request logging off', start: () => startLectern({ LOG_LEVEL: 'warning' }) },
  { name: 'Lectern, logging to stdout', start: () => startLectern({ LOG_LEVEL: 'info' }) },
  {
    name: 'Lectern, stdout + LOG_FILE',
    start: () => startLectern({ LOG_LEVEL: 'info', LOG_FILE: join('logs', 'lectern.log') }),
  },
]

const results: Array<{ name: string } & LoadResult> = []
for (const variant of variants) {
  const server = await variant.start()
  try {
    await load(`${server.url}/healthz`, { connections, durationSeconds: 1 }) // warm-up
    results.push({ name: variant.name, ...(await load(`${server.url}/healthz`, { connections, durationSeconds })) })
  } finally {
    await server.stop()
  }
}

const byName = (name: string) => results.find((r) => r.name === name)!
const fastify = byName('bare Fastify')
const loggingOff = byName('Lectern, request logging off')
console.log(`GET /healthz, ${connections} connections, ${durationSeconds}s each, one server process at a time\n`)
console.log(
  table(
    results.map((r) => ({
      variant: r.name,
      'req/s': Math.round(r.requestsPerSecond),
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      'vs bare Fastify': `${((r.requestsPerSecond / fastify.requestsPerSecond) * 100).toFixed(0)}%`,
      'vs logging off': `${((r.requestsPerSecond / loggingOff.requestsPerSecond) * 100).toFixed(0)}%`,
      errors: r.errors + r.non2xx,
    })),
  ),
)
const full = byName('Lectern, stdout + LOG_FILE')
console.log(
  `\nfull stack keeps ${((full.requestsPerSecond / fastify.requestsPerSecond) * 100).toFixed(0)}% of bare Fastify (aim ≥ 50%);` +
    ` request logging costs ${((1 - byName('Lectern, logging to stdout').requestsPerSecond / loggingOff.requestsPerSecond) * 100).toFixed(0)}%` +
    ` to stdout and ${((1 - full.requestsPerSecond / loggingOff.requestsPerSecond) * 100).toFixed(0)}% with LOG_FILE too (aim < 15%)`,
)
