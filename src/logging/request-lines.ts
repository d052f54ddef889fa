import type { LogLevel } from '../config/index.ts'
import type { Clock } from '../lib/clock.ts'
import { sinkOf, type ErrorField, type Logger } from './logger.ts'

/** The fields every line of one request carries, fixed when the request arrives. */
export interface RequestBindings {
  request_id: string
  /** 32 lowercase hex digits: from the request's `traceparent`, else new (http/trace-context.ts). */
  trace_id: string
  method: string
  path: string
  remote_addr: string
  user_agent: string
}

/** A request's bindings, and their JSON once a line has needed it (shared by both lines). */
export interface BoundRequest {
  readonly bindings: RequestBindings
  json: string | null
}

export const bindRequest = (bindings: RequestBindings): BoundRequest => ({ bindings, json: null })

export interface RequestLines {
  /** Written when `info` lines are (LOG_LEVEL); the bindings are serialised only then. */
  received(request: BoundRequest, userId: number | null): void
  complete(
    request: BoundRequest,
    level: LogLevel,
    fields: { userId: number | null; statusCode: number; durationMs: number; error: ErrorField | null },
  ): void
}

const LEVEL_NAMES: Record<LogLevel, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warning: 'WARNING',
  error: 'ERROR',
  critical: 'CRITICAL',
}

const str = JSON.stringify
/** Strings JSON.stringify would escape: quote, backslash, control characters, surrogates (it escapes a lone one). */
const NEEDS_ESCAPING = /[\u0000-\u001f"\\\ud800-\udfff]/
/**
 * A string field from request data, whatever arrived: Node leaves the peer address undefined
 * once a client has reset its connection, and a bare `undefined` would break the line's JSON.
 * Quoted as JSON.stringify would; most values (an id, a method, an address, a plain path) need
 * no escaping, and one regular-expression test is cheaper than the serialiser for each of them.
 */
function text(value: string | undefined | null): string {
  if (typeof value !== 'string') return '""'
  return NEEDS_ESCAPING.test(value) ? str(value) : `"${value}"`
}

function bindingsJson(request: BoundRequest): string {
  const b = request.bindings
  return (request.json ??=
    `"request_id":${text(b.request_id)},"trace_id":${text(b.trace_id)},"method":${text(b.method)},` +
    `"path":${text(b.path)},"remote_addr":${text(b.remote_addr)},"user_agent":${text(b.user_agent)}`)
}

function errorJson(error: ErrorField | null): string {
  if (error === null) return 'null'
  const stack = error.stack === undefined ? '' : `,"stack":${str(error.stack)}`
  return `{"type":${str(error.type)},"message":${str(error.message)}${stack}}`
}

/**
 * `request_received` and `request_complete`, the two lines every request writes, serialised
 * from a template: their fields are fixed by the contract (docs/log-schema.json), and pino's
 * general path (an object per line, its keys walked and each value classified) cost about
 * twice the CPU of the rest of a small request's logging (docs/adr/0013). The lines go to the
 * same sink as the logger's, with the same field order, levels and clock; every other event
 * is written by pino. Strings are quoted as JSON.stringify quotes them (text() above), never
 * concatenated raw.
 */
export function createRequestLines(opts: { logger: Logger; clock: Clock }): RequestLines {
  const { logger, clock } = opts
  const sink = sinkOf(logger)
  // A busy server writes dozens of lines within one millisecond: format each millisecond once.
  let formattedMs = Number.NaN
  let formatted = ''
  const timestamp = () => {
    const nowMs = clock.now()
    if (nowMs !== formattedMs) {
      formattedMs = nowMs
      formatted = new Date(nowMs).toISOString()
    }
    return formatted
  }
  const head = (level: LogLevel) => `{"level":"${LEVEL_NAMES[level]}","timestamp":"${timestamp()}",`
  return {
    received(request, userId) {
      if (!logger.isLevelEnabled('info')) return
      sink.write(`${head('info')}${bindingsJson(request)},"event":"request_received","user_id":${userId ?? 'null'}}\n`)
    },
    complete(request, level, { userId, statusCode, durationMs, error }) {
      if (!logger.isLevelEnabled(level)) return
      sink.write(
        `${head(level)}${bindingsJson(request)},"event":"request_complete","user_id":${userId ?? 'null'},` +
          `"status_code":${statusCode},"duration_ms":${durationMs},"error":${errorJson(error)}}\n`,
      )
    },
  }
}
