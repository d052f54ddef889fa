import type { FastifyRequest } from 'fastify'
import { badRequest, HttpError, payloadTooLarge, unauthorized } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import { ImageRejectedError } from '../../images/index.ts'
import { AvatarOwnerMissingError } from './avatars.repository.ts'
import { UploadRefusedError } from '../../http/uploads/read-upload.ts'

export const FILE_TOO_LARGE_MESSAGE = 'File too large'
export const NO_FILE_MESSAGE = 'No file uploaded'
export const UPLOADS_BUSY_MESSAGE = 'Server busy, try again shortly'
/** Long enough for the uploads ahead to finish (each takes tens of milliseconds). */
const BUSY_RETRY_AFTER_SECONDS = 5

/** The `upload_rejected` reasons: the request's (too_large, no_file, busy), then the image's. */
export type UploadRejectionReason = UploadRefusedError['reason'] | ImageRejectedError['reason'] | 'busy'

interface RejectionDetails {
  reason: UploadRejectionReason
  format?: string | null
  width?: number | null
  height?: number | null
  frames?: number | null
  /** Body bytes received (request refusals) or the file's size (image refusals). */
  bytes: number
  /** Why, precisely: for the operator, never sent to the client. */
  detail: string
}

/** Every refused upload is one `upload_rejected` line; never a byte of the file's content. */
function logRejection(req: FastifyRequest, details: RejectionDetails): void {
  securityEvent(req, 'upload_rejected', {
    reason: details.reason,
    format: details.format ?? null,
    width: details.width ?? null,
    height: details.height ?? null,
    frames: details.frames ?? null,
    bytes: details.bytes,
    content_length: req.headers['content-length'] ?? null,
    detail: details.detail.slice(0, 300),
  })
}

/**
 * Logs a refused upload and returns the error to throw: the contract's status and message
 * (CONTRACT §5). Errors that are not about the upload (a CSRF 403) pass through unchanged.
 */
export function uploadRejection(req: FastifyRequest, error: unknown, fileBytes: number | null): unknown {
  if (error instanceof UploadRefusedError) {
    logRejection(req, { reason: error.reason, bytes: error.bytesReceived, detail: error.detail })
    return error.reason === 'too_large' ? payloadTooLarge(FILE_TOO_LARGE_MESSAGE) : badRequest(NO_FILE_MESSAGE)
  }
  if (error instanceof ImageRejectedError) {
    logRejection(req, {
      reason: error.reason,
      format: error.format,
      width: error.width,
      height: error.height,
      frames: error.frames,
      bytes: fileBytes ?? 0,
      detail: error.detail,
    })
    return badRequest(error.publicMessage)
  }
  // The account was deleted while its upload was processed: nothing stored, nobody to store it for.
  if (error instanceof AvatarOwnerMissingError) return unauthorized()
  return error
}

/** Every upload slot is taken: refused before the body is read. */
export function uploadsBusy(req: FastifyRequest, inUse: number): HttpError {
  logRejection(req, { reason: 'busy', bytes: 0, detail: `${inUse} uploads in flight` })
  return new HttpError(503, UPLOADS_BUSY_MESSAGE, { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) })
}
