import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { LogLevel } from '../config/index.ts'
import { SECURITY_EVENT_LEVEL, type EventName, type SecurityEventName } from '../logging/events.ts'
import { logEvent, type ErrorField, type EventFields, type Logger } from '../logging/logger.ts'

export interface RequestContext {
  /** A child logger carrying request_id, method, path, remote_addr and user_agent. */
  log: Logger
  startedAtNs: bigint
  /** What the client was told when the status is ≥ 400; logged with request_complete. */
  error: ErrorField | null
  observer: RequestObserver | null
}

/** Sees every request event as it is logged, e.g. to count it in metrics (observability/metrics.ts). */
export interface RequestObserver {
  event(req: FastifyRequest, event: EventName, fields: EventFields): void
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

function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/** Logs one event in the context of a request: the request fields plus the signed-in user. */
export function requestEvent(req: FastifyRequest, level: LogLevel, event: EventName, fields: EventFields = {}) {
  logEvent(req.ctx.log, level, event, { user_id: req.user?.id ?? null, ...fields })
  req.ctx.observer?.event(req, event, fields)
}

/**
 * Logs a security decision at its standard level (denials WARNING, granted actions INFO), in
 * the same schema as every request line: `securityEvent(req, 'upload_rejected', { reason })`.
 */
export function securityEvent(req: FastifyRequest, event: SecurityEventName, extra: Record<string, unknown> = {}) {
  requestEvent(req, SECURITY_EVENT_LEVEL[event], event, { extra })
}

function completionLevel(statusCode: number): LogLevel {
  if (statusCode >= 500) return 'error'
  if (statusCode >= 400) return 'warning'
  return 'info'
}

/**
 * First layer of every request: our own request id (a client's X-Request-ID is never
 * trusted), the child logger everything after uses, and request_received/request_complete.
 */
export const requestContext = fp(
  async (app: FastifyInstance, opts: { logger: Logger; observer?: RequestObserver }) => {
    app.decorateRequest('ctx', null as unknown as RequestContext)
    app.decorateRequest('user', null)

    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      req.ctx = {
        log: opts.logger.child({
          request_id: req.id,
          method: req.method,
          path: pathOf(req.url),
          remote_addr: req.ip,
          user_agent: req.headers['user-agent'] ?? '',
        }),
        startedAtNs: process.hrtime.bigint(),
        error: null,
        observer: opts.observer ?? null,
      }
      reply.header('X-Request-ID', req.id)
      requestEvent(req, 'info', 'request_received')
    })

    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      const durationMs = Number(process.hrtime.bigint() - req.ctx.startedAtNs) / 1e6
      requestEvent(req, completionLevel(reply.statusCode), 'request_complete', {
        status_code: reply.statusCode,
        duration_ms: Math.round(durationMs * 1000) / 1000,
        error:
          reply.statusCode >= 400
            ? (req.ctx.error ?? { type: 'HttpError', message: `HTTP ${reply.statusCode}` })
            : null,
      })
    })
  },
  { name: 'request-context' },
)

export const generateRequestId = () => randomUUID()
