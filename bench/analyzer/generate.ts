import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { SECURITY_EVENTS } from '../../src/logging/events.ts'

/**
 * Realistic Lectern log lines, as the server writes them (pino's field order, CONTRACT §7):
 * each request logs request_received then request_complete; ~2% of lines are security
 * events; a few are unhandled errors with a stack, or lines cut short by a crash.
 * Deterministic for a seed, so every run measures the same bytes.
 */

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const COURSES = [
  'intro-to-typescript',
  'web-security-basics',
  'sql-for-everyone',
  'writing-for-the-web',
  'linear-algebra',
]
const EBOOKS = ['the-pragmatic-reader', 'notes-on-design', 'a-field-guide-to-http']
const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0',
  'Mozilla/5.0 (Macintosh) Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; rv:127.0) Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile/15E148',
]
const ERRORS: Array<{ status: number; type: string; message: string; path?: string }> = [
  { status: 404, type: 'NotFound', message: 'Not found' },
  { status: 401, type: 'Unauthorized', message: 'Invalid username or password', path: '/api/login' },
  { status: 403, type: 'Forbidden', message: 'CSRF token missing' },
  { status: 403, type: 'Forbidden', message: 'CSRF token expired' },
  { status: 429, type: 'RateLimited', message: 'Rate limit exceeded. Try again in 600 seconds.', path: '/api/login' },
  { status: 400, type: 'BadRequest', message: 'Unsupported image format', path: '/api/upload-avatar' },
  { status: 413, type: 'PayloadTooLarge', message: 'File too large', path: '/api/upload-avatar' },
  { status: 500, type: 'InternalServerError', message: 'Internal server error' },
  { status: 503, type: 'ServiceUnavailable', message: 'Database unavailable' },
]

export interface GeneratedLog {
  lines: number
  bytes: number
}

export function createLineGenerator(seed: number, startMs: number) {
  const random = mulberry32(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const hex = (n: number) => {
    let s = ''
    for (let i = 0; i < n; i++) s += Math.floor(random() * 16).toString(16)
    return s
  }
  let nowMs = startMs
  let pending: string | null = null

  const path = () => {
    const r = random()
    if (r < 0.35) return `/api/courses/${pick(COURSES)}/lessons/${1 + Math.floor(random() * 12)}`
    if (r < 0.55) return `/api/courses/${pick(COURSES)}`
    if (r < 0.7) return `/api/ebooks/${pick(EBOOKS)}/chapters/${1 + Math.floor(random() * 20)}`
    if (r < 0.8) return '/api/me/progress'
    if (r < 0.9) return '/api/courses'
    return '/api/me'
  }
  // Log-normal around 15 ms with a long tail, as a web service's latencies are.
  const durationMs = () => {
    const u = Math.max(random(), 1e-12)
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
    return Math.round(Math.exp(2.7 + 0.9 * normal) * 1000) / 1000
  }

  return function nextLine(): string {
    if (pending !== null) {
      const line = pending
      pending = null
      return line
    }
    nowMs += Math.floor(random() * 40)
    const timestamp = new Date(nowMs).toISOString()
    const r = random()
    if (r < 0.02) {
      return `{"level":"WARNING","timestamp":"${timestamp}","event":"${pick(SECURITY_EVENTS)}","request_id":"${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}","method":"POST","path":"/api/login","remote_addr":"198.51.100.${Math.floor(random() * 255)}","user_agent":"${pick(USER_AGENTS)}","user_id":null,"extra":{"reason":"invalid_credentials"}}`
    }
    if (r < 0.0205) {
      return `{"level":"ERROR","timestamp":"${timestamp}","event":"unhandled_error","request_id":"${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}","method":"GET","path":"${path()}","remote_addr":"203.0.113.9","user_agent":"${pick(USER_AGENTS)}","user_id":7,"error":{"type":"TypeError","message":"Cannot read properties of undefined (reading 'id')","stack":"TypeError: Cannot read properties of undefined (reading 'id')\\n    at presentCourse (src/modules/courses/presenter.ts:12:20)\\n    at async handler (src/modules/courses/courses.routes.ts:31:5)"}}`
    }
    if (r < 0.0206) {
      return `{"level":"INFO","timestamp":"${timestamp}","event":"request_complete","request_id":"${hex(8)}` // a line cut short
    }
    const requestId = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
    const userId = random() < 0.3 ? 'null' : String(1 + Math.floor(random() * 5000))
    let p = path()
    const common = `"request_id":"${requestId}","method":"GET","path":"${p}","remote_addr":"203.0.113.${Math.floor(random() * 255)}","user_agent":"${pick(USER_AGENTS)}","user_id":${userId}`
    const received = `{"level":"INFO","timestamp":"${timestamp}","event":"request_received",${common}}`
    let status = 200
    let error = 'null'
    const e = random()
    if (e < 0.03) {
      const chosen = pick(ERRORS)
      status = chosen.status
      if (chosen.path !== undefined) p = chosen.path
      error = `{"type":"${chosen.type}","message":"${chosen.message}"}`
    } else if (e < 0.05) {
      status = 304
    }
    const level = status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO'
    const doneMs = new Date(nowMs + 5).toISOString()
    const completeCommon = common.replace(/"path":"[^"]*"/, `"path":"${p}"`)
    pending = `{"level":"${level}","timestamp":"${doneMs}","event":"request_complete",${completeCommon},"status_code":${status},"duration_ms":${durationMs()},"error":${error}}`
    return received
  }
}

/** Writes `lines` lines to `path`; returns what was written. */
export async function generateLogFile(path: string, lines: number, seed = 20261123): Promise<GeneratedLog> {
  const nextLine = createLineGenerator(seed, Date.UTC(2026, 10, 23, 0, 0, 0))
  const out = createWriteStream(path)
  let bytes = 0
  const BATCH = 10_000
  for (let written = 0; written < lines;) {
    const count = Math.min(BATCH, lines - written)
    const batch: string[] = []
    for (let i = 0; i < count; i++) batch.push(nextLine())
    const text = `${batch.join('\n')}\n`
    bytes += Buffer.byteLength(text)
    written += count
    if (!out.write(text)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return { lines, bytes }
}
