// bench/http/request-lines.ts: what request logging's own work costs per request, without a server.
// Usage: node --import tsx bench/http/request-lines.ts [--requests N]
//
// Writes the two lines of each request (request_received, request_complete) through the same
// request-lines template and batching sink the server uses, into a destination that only counts
// the bytes: line building, quoting and UTF-8 encoding into the batch, no system call. The
// baseline loop makes each request's ids (request id and a new trace id, as for a request
// without traceparent) and bindings alone. Rounds alternate; medians printed.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createTraceIdGenerator } from '../../src/http/trace-context.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { bindRequest, createRequestLines, type BoundRequest } from '../../src/logging/request-lines.ts'
import { batchLines } from '../../src/logging/sinks.ts'

const { values } = parseArgs({ options: { requests: { type: 'string', default: '300000' } } })
const requests = Math.min(5_000_000, Math.max(1000, Number(values.requests)))
const ROUNDS = 7

let bytes = 0
const sink = batchLines(
  { write: (chunk) => void (bytes += chunk.length), close: async () => {}, flushSync: () => {} },
  { clock: systemClock },
)
const lines = createRequestLines({
  logger: createLogger({ level: 'info', sink, clock: systemClock }),
  clock: systemClock,
})

const newTraceId = createTraceIdGenerator()
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
const bound = (): BoundRequest =>
  bindRequest({
    request_id: randomUUID(),
    trace_id: newTraceId(),
    method: 'GET',
    path: '/api/courses/web-fundamentals',
    remote_addr: '203.0.113.7',
    user_agent: USER_AGENT,
  })

function timed(body: () => void): number {
  const started = process.hrtime.bigint()
  body()
  return Number(process.hrtime.bigint() - started) / requests
}

const baseline: number[] = []
const logged: number[] = []
let kept = 0
for (let round = 0; round < ROUNDS; round++) {
  const base = () => {
    for (let i = 0; i < requests; i++) kept += bound().bindings.request_id.length
  }
  const log = () => {
    for (let i = 0; i < requests; i++) {
      const request = bound()
      lines.received(request, null)
      lines.complete(request, 'info', { userId: null, statusCode: 200, durationMs: 0.42, error: null })
    }
  }
  if (round % 2 === 0) {
    baseline.push(timed(base))
    logged.push(timed(log))
  } else {
    logged.push(timed(log))
    baseline.push(timed(base))
  }
}
await sink.close()
// The baseline's result is used, so that its loop cannot be optimised away.
if (kept !== ROUNDS * requests * 36) throw new Error('baseline loop did not run')
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
console.log(`request lines, ${requests} requests per round, median of ${ROUNDS} rounds, Node ${process.version}`)
console.log(`baseline (ids and bindings only): ${median(baseline).toFixed(0)} ns per request`)
console.log(
  `with both lines written and encoded: ${median(logged).toFixed(0)} ns per request, ` +
    `${(median(logged) - median(baseline)).toFixed(0)} ns for the lines ` +
    `(${(bytes / (ROUNDS * requests)).toFixed(0)} bytes of log per request)`,
)
