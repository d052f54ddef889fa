import { randomUUID } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { LogLevel } from '../config/index.ts'
import { SECURITY_EVENT_LEVEL, type EventName, type SecurityEventName } from '../logging/events.ts'
import type { Clock } from '../lib/clock.ts'
import { logEvent, type ErrorField, type EventFields, type Logger } from '../logging/logger.ts'
import { bindRequest, createRequestLines, type BoundRequest } from '../logging/request-lines.ts'
import { errorBody, INTERNAL_ERROR_MESSAGE } from './errors.ts'
import { createTraceIds } from './trace-context.ts'

export interface RequestContext {
  /** A child logger carrying request_id, trace_id, method, path, remote_addr, user_agent (made on first use). */
  readonly log: Logger
  startedAtNs: bigint
  /** What the client was told when the status is ≥ 400; logged with request_complete. */
  error: ErrorField | null
  observer: RequestObserver | null
}

/**
 * Sees every request event as it is logged, with the line's fields (its `extra` not yet redacted):
 * metrics count them (observability/metrics.ts), the audit trail keeps security events (modules/audit).
 */
export interface RequestObserver {
  event(req: FastifyRequest, event: EventName, fields: EventFields): void
}

/** One observer that hands every event to each of `observers`, in order. */
export function observeAll(...observers: RequestObserver[]): RequestObserver {
  return {
    event(req, event, fields) {
      for (const observer of observers) observer.event(req, event, fields)
    },
  }
}

/** Who is signed in; set by the sessions layer, null for anonymous requests. */
export interface RequestUser {
  id: number
  role: 'learner' | 'instructor' | 'admin'
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext
    user: RequestUser | null
  }
}

/**
 * Paths whose last segment is a one-time token (a reset, verification or invitation link) or a
 * certificate's unguessable id (CONTRACT §12: it shows a learner's name to whoever holds it):
 * whoever reads the logs must not be able to use it (CONTRACT §7).
 */
const TOKEN_IN_PATH = /^(\/(?:reset-password|verify-email|invite|certificates|api\/invitations)\/)[^/]+/

export const REDACTED = '[redacted]'

/**
 * The path as logged: without the query string, and with any token in it replaced. The router
 * matches the decoded path (`/reset%2Dpassword/…` reaches the reset page), so a path with escapes
 * is judged decoded, and logged decoded when it holds a token.
 */
export function pathOf(url: string): string {
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  if (!path.includes('%')) return path.replace(TOKEN_IN_PATH, `$1${REDACTED}`)
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return path // not decodable: no route serves it (400 Malformed URL)
  }
  return TOKEN_IN_PATH.test(decoded) ? decoded.replace(TOKEN_IN_PATH, `$1${REDACTED}`) : path
}

/** Logs one event in the context of a request: the request fields plus the signed-in user. */
export function requestEvent(req: FastifyRequest, level: LogLevel, event: EventName, fields: EventFields = {}) {
  const line = { user_id: req.user?.id ?? null, ...fields }
  logEvent(req.ctx.log, level, event, line)
  req.ctx.observer?.event(req, event, line)
}

/**
 * Logs a security decision at its standard level (denials WARNING, granted actions INFO), in
 * the same schema as every request line: `securityEvent(req, 'upload_rejected', { reason })`.
 */
export function securityEvent(req: FastifyRequest, event: SecurityEventName, extra: Record<string, unknown> = {}) {
  requestEvent(req, SECURITY_EVENT_LEVEL[event], event, { extra })
}

/**
 * Logs a failure nobody handled, with its stack for the operator: what the error handler logs
 * before a 500, and what work done after the answer logs when it fails (`during` says which).
 */
export function unhandledError(req: FastifyRequest, error: unknown, during?: string) {
  const failure = error instanceof Error ? error : new Error(String(error))
  requestEvent(req, 'error', 'unhandled_error', {
    error: {
      type: failure.name || 'Error',
      message: failure.message,
      ...(failure.stack ? { stack: failure.stack } : {}),
    },
    ...(during === undefined ? {} : { extra: { during } }),
  })
}

function completionLevel(statusCode: number): LogLevel {
  if (statusCode >= 500) return 'error'
  if (statusCode >= 400) return 'warning'
  return 'info'
}

/** What request_complete says of a request whose client closed the connection before its answer (nginx's code). */
export const CLIENT_CLOSED_REQUEST = 499

/** One request's context; a class, so every request's object has the same shape. */
class Context implements RequestContext {
  #log: Logger | null = null
  readonly startedAtNs = process.hrtime.bigint()
  error: ErrorField | null = null
  /** request_complete is written once, by the response or by the client going away first. */
  completed = false

  private readonly logger: Logger
  readonly request: BoundRequest
  readonly observer: RequestObserver | null

  constructor(logger: Logger, request: BoundRequest, observer: RequestObserver | null) {
    this.logger = logger
    this.request = request
    this.observer = observer
  }

  // Most requests log nothing but their two request lines: the child is made when needed.
  get log(): Logger {
    return (this.#log ??= this.logger.child(this.request.bindings))
  }
}

interface RequestContextOptions {
  logger: Logger
  clock: Clock
  observer?: RequestObserver
}

/** What the first layer does when a request arrives and when its response is finished. */
function requestTracker(opts: RequestContextOptions) {
  const lines = createRequestLines({ logger: opts.logger, clock: opts.clock })
  const observer = opts.observer ?? null
  const traceIdOf = createTraceIds()
  return {
    begin(req: FastifyRequest, reply: FastifyReply): Context {
      const ctx = new Context(
        opts.logger,
        bindRequest({
          request_id: req.id,
          trace_id: traceIdOf(req.headers.traceparent),
          method: req.method,
          path: pathOf(req.url),
          remote_addr: req.ip ?? '', // undefined once the client has reset the connection
          user_agent: req.headers['user-agent'] ?? '',
        }),
        observer,
      )
      req.ctx = ctx
      reply.header('X-Request-ID', req.id)
      lines.received(ctx.request, req.user?.id ?? null)
      observer?.event(req, 'request_received', {})
      return ctx
    },
    /** `reply` null: the client went away before its answer. */
    complete(req: FastifyRequest, reply: FastifyReply | null): void {
      const ctx = req.ctx as Context | null
      if (ctx === null || ctx.completed) return // answered before the first hook ran, or already completed
      ctx.completed = true
      const durationMs = Math.round(Number(process.hrtime.bigint() - ctx.startedAtNs) / 1000) / 1000
      const statusCode = reply === null ? CLIENT_CLOSED_REQUEST : reply.statusCode
      if (reply === null) ctx.error = { type: 'ClientClosedRequest', message: 'Client closed the request' }
      const error = statusCode >= 400 ? (ctx.error ?? { type: 'HttpError', message: `HTTP ${statusCode}` }) : null
      lines.complete(ctx.request, completionLevel(statusCode), {
        userId: req.user?.id ?? null,
        statusCode,
        durationMs,
        error,
      })
      observer?.event(req, 'request_complete', { status_code: statusCode, duration_ms: durationMs, error })
    },
  }
}

/**
 * First layer of every request: our own request id (a client's X-Request-ID is never
 * trusted), its trace id (a valid W3C `traceparent`'s, else new: http/trace-context.ts), the
 * child logger everything after uses, and request_received/request_complete (serialised by
 * logging/request-lines.ts, the hot path of the logs).
 */
export const requestContext = fp(
  async (app: FastifyInstance, opts: RequestContextOptions) => {
    app.decorateRequest('ctx', null as unknown as RequestContext)
    app.decorateRequest('user', null)
    const tracker = requestTracker(opts)

    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      tracker.begin(req, reply)
      done()
    })

    app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      tracker.complete(req, reply)
      done()
    })

    // A client that goes away before its answer (a reset, a closed tab) gets no onResponse; its
    // request is still logged as complete, with nginx's 499, so the analyzer and metrics see it.
    app.addHook('onRequestAbort', (req: FastifyRequest, done: HookHandlerDoneFunction) => {
      tracker.complete(req, null)
      done()
    })
  },
  { name: 'request-context' },
)

/** What Fastify's refusals before routing become: a client's mistake in its own words, else a 500. */
function refusalBeforeRouting(error: FastifyError): { statusCode: number; message: string } {
  if (error.code === 'FST_ERR_BAD_URL') return { statusCode: 400, message: 'Malformed URL' }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return { statusCode: 414, message: 'URL too long' }
  return { statusCode: 500, message: INTERNAL_ERROR_MESSAGE }
}

/**
 * Fastify's `frameworkErrors`: requests Fastify refuses before routing, a path it cannot
 * percent-decode (`/%zz`, 400), a path parameter over the router's length limit (414), or a
 * failed asynchronous route constraint (500, none is used). No hook runs for them, so
 * without this they would leave with Fastify's own body (quoting the path), no X-Request-ID, no
 * security headers and no log line. Here they get what every response gets: an id, the
 * contract's error body, the given (JSON) security headers, and both request lines.
 */
export function unroutableRequests(opts: RequestContextOptions & { headers: Readonly<Record<string, string>> }) {
  const tracker = requestTracker(opts)
  return (error: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    req.user = null
    const ctx = tracker.begin(req, reply)
    const { statusCode, message } = refusalBeforeRouting(error)
    ctx.error = { type: statusCode < 500 ? 'HttpError' : error.name, message }
    reply.raw.once('finish', () => tracker.complete(req, reply))
    reply
      .code(statusCode)
      .headers(opts.headers)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(errorBody(message, req.id)))
  }
}

export const generateRequestId = () => randomUUID()
