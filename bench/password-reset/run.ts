/**
 * Enumeration by timing: does POST /api/password/forgot answer a known address as fast as an
 * unknown one? The answer must not tell them apart (CONTRACT §10), so the server answers before
 * it looks the address up. This bench asks, over loopback against `bin/lectern serve` (mail to
 * the outbox), alternately for a registered address and for one nobody has, and prints both
 * latency distributions from the same run and the ratio of their medians: the unknown address
 * is the baseline. A ratio near 1 (and overlapping distributions) is what "similar timing" means.
 *
 *   node bench/password-reset/run.ts [--requests N] [--accounts N]
 *
 * Loopback only; every loop is bounded in count.
 */
import http from 'node:http'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { browserClient } from '../support/http-client.ts'
import { table } from '../support/load.ts'
import { startLectern } from '../support/server.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    accounts: { type: 'string', default: '100' },
  },
})
/** Requests of each kind. */
const REQUESTS = Math.min(5_000, Math.max(20, Number(values.requests)))
/** At most 3 links per account per hour are sent: enough accounts that every known request sends one. */
const ACCOUNTS = Math.min(2_000, Math.max(1, Number(values.accounts), Math.ceil(REQUESTS / 3)))
const PASSWORD = 'bench: correct horse battery staple'
/** Answers while the server warms up (JIT, first statements) are not counted. */
const WARM_UP = 20

function percentile(samples: number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!
}

const server = await startLectern({
  RATE_LIMIT_PASSWORD_RESET: '1000000/1h',
  RATE_LIMIT_REGISTER: '1000000/1h',
  LOG_LEVEL: 'warning',
})
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
try {
  const api = browserClient(agent, server.url)
  const known: string[] = []
  for (let i = 0; i < ACCOUNTS; i++) {
    const email = `reader${i}@example.org`
    const res = await api.post('/api/register', { username: `reader${i}`, email, password: PASSWORD })
    if (res.status !== 201) throw new Error(`register: ${res.status} ${res.body}`)
    known.push(email)
  }

  const asker = browserClient(agent, server.url)
  const latencies = { known: [] as number[], unknown: [] as number[] }
  const bodies = new Set<string>()
  for (let i = 0; i < WARM_UP + REQUESTS; i++) {
    // Alternating, so both kinds meet the same server state (caches, the queue of mail to send).
    for (const kind of i % 2 === 0 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const)) {
      const email = kind === 'known' ? known[i % known.length]! : `nobody${i}@example.org`
      const reply = await asker.post('/api/password/forgot', { email })
      if (reply.status !== 202) throw new Error(`forgot: ${reply.status} ${reply.body}`)
      bodies.add(reply.body)
      if (i >= WARM_UP) latencies[kind].push(reply.ms)
    }
  }
  if (bodies.size !== 1) throw new Error(`the answers differ: ${[...bodies].join(' | ')}`)

  const row = (kind: 'known' | 'unknown') => ({
    address: kind === 'known' ? 'registered' : 'unknown (baseline)',
    requests: latencies[kind].length,
    'p50 ms': percentile(latencies[kind], 0.5).toFixed(2),
    'p90 ms': percentile(latencies[kind], 0.9).toFixed(2),
    'p99 ms': percentile(latencies[kind], 0.99).toFixed(2),
  })
  const ratio = percentile(latencies.known, 0.5) / percentile(latencies.unknown, 0.5)
  console.log(
    `POST /api/password/forgot over loopback, ${REQUESTS} of each kind after ${WARM_UP} warm-up pairs, ` +
      `${ACCOUNTS} accounts; node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(2)}`,
  )
  console.log(table([row('known'), row('unknown')]))
  console.log(`median ratio registered / unknown: ${ratio.toFixed(3)} (1.000 = the same; every body identical)`)
} finally {
  agent.destroy()
  await server.stop()
}
