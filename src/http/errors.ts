/**
 * An error that knows its HTTP status and the message the client may see.
 * Throw these from anywhere; the one error handler renders them (http/error-handler.ts).
 */
export class HttpError extends Error {
  readonly statusCode: number
  readonly publicMessage: string
  readonly headers: Readonly<Record<string, string>>

  constructor(statusCode: number, publicMessage: string, headers: Readonly<Record<string, string>> = {}) {
    super(publicMessage)
    this.statusCode = statusCode
    this.publicMessage = publicMessage
    this.headers = headers
    this.name = 'HttpError'
  }
}

export const badRequest = (message: string) => new HttpError(400, message)
export const unauthorized = (message = 'Authentication required') => new HttpError(401, message)
export const forbidden = (message = 'Forbidden') => new HttpError(403, message)
export const notFound = (message = 'Not found') => new HttpError(404, message)
export const methodNotAllowed = (allow: string[]) =>
  new HttpError(405, 'Method not allowed', { Allow: allow.join(', ') })
export const conflict = (message: string) => new HttpError(409, message)
export const payloadTooLarge = (message = 'Request body too large') =>
  new HttpError(413, message, { Connection: 'close' })
export const unsupportedMediaType = (message = 'Unsupported content type') => new HttpError(415, message)
export const tooManyRequests = (retryAfterSeconds: number) =>
  new HttpError(429, `Rate limit exceeded. Try again in ${retryAfterSeconds} seconds.`, {
    'Retry-After': String(retryAfterSeconds),
  })
/** A request not sent in time; the connection closes after the answer, so no late bytes are taken for a next request. */
export const requestTimedOut = () => new HttpError(408, 'Request timed out', { Connection: 'close' })
/** Text that is not well-formed Unicode: a lone surrogate, or bytes that are not UTF-8. */
export const invalidTextEncoding = () => new HttpError(400, 'Invalid text encoding')
export const serviceUnavailable = (message = 'Service unavailable') => new HttpError(503, message)

export const INTERNAL_ERROR_MESSAGE = 'Internal server error'

/** Every error body of the API (CONTRACT §3): the message the client may see, and the request's id. */
export const errorBody = (message: string, requestId: string) => ({ error: message, request_id: requestId })
