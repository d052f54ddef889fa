import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { requestEvent, unhandledError } from './request-context.ts'
import {
  errorBody,
  HttpError,
  INTERNAL_ERROR_MESSAGE,
  payloadTooLarge,
  serviceUnavailable,
  unsupportedMediaType,
} from './errors.ts'

interface ValidationIssue {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

/** Ajv's report → one sentence a client developer can act on. */
export function describeValidationIssue(issue: ValidationIssue, context: string): string {
  const field = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
  if (issue.keyword === 'additionalProperties') return `Unknown field: ${String(issue.params.additionalProperty)}`
  if (issue.keyword === 'required') return `Missing field: ${String(issue.params.missingProperty)}`
  const subject = field || context
  return `${subject} ${issue.message ?? 'is invalid'}`
}

/** Errors raised by Fastify itself (body parsing, content types) mapped to clear client messages. */
function frameworkError(error: FastifyError): HttpError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return payloadTooLarge()
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'Request body is empty')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError(400, 'Malformed JSON body')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError(400, 'Invalid Content-Length')
  }
  if (error instanceof SyntaxError && error.statusCode === 400) return new HttpError(400, 'Malformed JSON body')
  if (error.validation) {
    const first = error.validation[0] as ValidationIssue | undefined
    return new HttpError(
      400,
      first ? describeValidationIssue(first, error.validationContext ?? 'request') : 'Invalid request',
    )
  }
  const status = error.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, status === 413 ? 'Request body too large' : 'Bad request')
  }
  return null
}

// Connection-level failures of PostgreSQL (refused, reset, shut down, pool timeout) and a
// SQLite file locked past its busy timeout: the request was fine, the database was not there.
const DATABASE_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'SQLITE_BUSY',
])
const DATABASE_DOWN_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i

/** True when an error means "the database did not answer", which is a 503, not a bug. */
export function isDatabaseUnavailable(error: { code?: unknown; message?: unknown }): boolean {
  return (
    (typeof error.code === 'string' && DATABASE_DOWN_CODES.has(error.code)) ||
    (typeof error.message === 'string' && DATABASE_DOWN_MESSAGES.test(error.message))
  )
}

/** Writes an error body of CONTRACT §3 and remembers the message for request_complete. */
export function sendError(req: FastifyRequest, reply: FastifyReply, error: HttpError, type = error.name) {
  req.ctx.error = { type, message: error.publicMessage }
  reply.code(error.statusCode).headers(error.headers).type('application/json; charset=utf-8')
  return reply.send(errorBody(error.publicMessage, req.id))
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A page for people (src/web): its errors are rendered as HTML pages, not as JSON. */
    html?: boolean
  }
}

/** Renders an error as a page for people (src/web/error-pages.ts): a friendly page, or a redirect to sign in. */
export interface HtmlErrorPages {
  send(req: FastifyRequest, reply: FastifyReply, error: HttpError): Promise<FastifyReply>
}

const API_PATH = /^\/api(?:[/?]|$)/

/**
 * Whether an error goes out as an HTML page: on routes declared `html`, and for paths nobody
 * serves outside /api when a browser navigates there (it asks for text/html; fetch() and API
 * clients do not). Everything else, the whole API included, keeps its JSON body.
 */
export function wantsHtml(req: FastifyRequest): boolean {
  if (req.routeOptions.config?.html === true) return true
  if (!req.is404 || API_PATH.test(req.url)) return false
  return /\btext\/html\b/i.test(String(req.headers.accept ?? ''))
}

export interface ErrorHandlerOptions {
  /** Without it every error is JSON (the app without pages, as in some tests). */
  htmlPages?: HtmlErrorPages
}

/**
 * The one error handler: known errors render with their status and public message; anything
 * else is a 500 that says only "Internal server error" and the request id, with the stack in
 * an unhandled_error line for the operator. Errors of pages for people are the same errors,
 * rendered as HTML (`wantsHtml`); request_complete carries the same `error` either way.
 */
export function installErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions = {}) {
  const { htmlPages } = options

  async function render(req: FastifyRequest, reply: FastifyReply, error: HttpError, type = error.name) {
    if (htmlPages && wantsHtml(req)) {
      req.ctx.error = { type, message: error.publicMessage }
      try {
        return await htmlPages.send(req, reply, error)
      } catch (pageError) {
        // The page itself failed (its template, or the session it needed): the JSON body still answers.
        unhandledError(req, pageError)
      }
    }
    return sendError(req, reply, error, type)
  }

  app.setErrorHandler(async (error: FastifyError, req, reply) => {
    if (error instanceof HttpError) return render(req, reply, error)
    const known = frameworkError(error)
    if (known) return render(req, reply, known, error.code ?? known.name)
    if (isDatabaseUnavailable(error)) {
      requestEvent(req, 'error', 'database_unavailable', {
        error: { type: error.name || 'Error', message: error.message },
      })
      return render(req, reply, serviceUnavailable(), 'DatabaseUnavailable')
    }
    unhandledError(req, error)
    return render(req, reply, new HttpError(500, INTERNAL_ERROR_MESSAGE), error.name || 'Error')
  })
}
