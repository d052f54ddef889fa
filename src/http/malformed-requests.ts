import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logging/logger.ts'
import { bindRequest, createRequestLines } from '../logging/request-lines.ts'
import { errorBody, requestTimedOut } from './errors.ts'
import { generateRequestId } from './request-context.ts'
import { createTraceIdGenerator } from './trace-context.ts'

/** What the client is told for each kind of failure Node reports before a request exists. */
function refusalOf(code: string | undefined): { statusCode: number; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { statusCode: 431, message: 'Request headers too large' }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { statusCode: 408, message: requestTimedOut().publicMessage }
  return { statusCode: 400, message: 'Malformed request' }
}

/**
 * Fastify's `clientErrorHandler`: bytes Node's parser refuses (a broken request line or header,
 * headers over the size limit, a request not sent within the request timeout) never become a
 * request, so no layer of the app sees them. Fastify's default answers in its own words, with
 * no id, no security headers and no log line. Here the answer is the contract's: an error body
 * with the request id, `X-Request-ID`, the (JSON) security headers, and the two request lines,
 * with the method and path empty since none could be read. The connection is closed after it.
 */
export function malformedRequests(opts: { logger: Logger; clock: Clock; headers: Readonly<Record<string, string>> }) {
  const lines = createRequestLines({ logger: opts.logger, clock: opts.clock })
  // No header of these could be read, a traceparent neither: each gets a trace of its own.
  const newTraceId = createTraceIdGenerator()
  const securityHeaders = Object.entries(opts.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has no one to answer. When a request was already handed to the app (its
    // body too slow or malformed), that request's response is pending on this connection: an
    // answer written here would be taken for it, under an id nobody logged. Close instead.
    const inFlight = (socket as Socket & { _httpMessage?: unknown })._httpMessage
    if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable || inFlight) {
      socket.destroy()
      return
    }
    const { statusCode, message } = refusalOf(error.code)
    const request = bindRequest({
      request_id: generateRequestId(),
      trace_id: newTraceId(),
      method: '',
      path: '',
      remote_addr: socket.remoteAddress ?? '',
      user_agent: '',
    })
    const id = request.bindings.request_id
    lines.received(request, null)
    const body = JSON.stringify(errorBody(message, id))
    socket.end(
      `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${id}\r\n${securityHeaders}connection: close\r\n\r\n${body}`,
    )
    socket.destroySoon()
    lines.complete(request, 'warning', {
      userId: null,
      statusCode,
      durationMs: 0,
      error: { type: 'HttpError', message },
    })
  }
}
