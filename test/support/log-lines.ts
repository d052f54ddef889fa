import { randomBytes, randomUUID } from 'node:crypto'

/**
 * Synthetic Lectern log lines for the analyzer's tests, in the server's field order
 * (CONTRACT §7), so the answers every test expects can be worked out by hand.
 */

export interface RequestLineOptions {
  /** ISO instant, e.g. '2026-11-23T10:00:00.000Z'. */
  at: string
  status?: number
  durationMs?: number
  path?: string
  method?: string
  /** `error.message`; for status ≥ 400 it defaults to a message derived from the status. */
  message?: string | null
}

const requestId = () => randomUUID()
const traceId = () => randomBytes(16).toString('hex')

function level(status: number): string {
  return status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO'
}

export function requestCompleteLine(opts: RequestLineOptions): string {
  const status = opts.status ?? 200
  const message = opts.message === undefined ? (status >= 400 ? `Error ${status}` : null) : opts.message
  return JSON.stringify({
    level: level(status),
    timestamp: opts.at,
    event: 'request_complete',
    request_id: requestId(),
    trace_id: traceId(),
    method: opts.method ?? 'GET',
    path: opts.path ?? '/api/courses',
    remote_addr: '203.0.113.7',
    user_agent: 'test-agent/1.0',
    user_id: null,
    status_code: status,
    duration_ms: opts.durationMs ?? 10,
    error: message === null ? null : { type: 'HttpError', message },
  })
}

export function requestReceivedLine(at: string, path = '/api/courses'): string {
  return JSON.stringify({
    level: 'INFO',
    timestamp: at,
    event: 'request_received',
    request_id: requestId(),
    trace_id: traceId(),
    method: 'GET',
    path,
    remote_addr: '203.0.113.7',
    user_agent: 'test-agent/1.0',
    user_id: null,
  })
}

export function eventLine(event: string, at: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    level: 'WARNING',
    timestamp: at,
    event,
    request_id: requestId(),
    trace_id: traceId(),
    path: '/api/login',
    extra,
  })
}

/** Lines joined as a log file holds them: one per line, with a final newline. */
export function logText(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join('')
}

/** A deterministic pseudo-random source (mulberry32), so fuzzed inputs are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
