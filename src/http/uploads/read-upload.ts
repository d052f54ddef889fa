import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { Multipart } from '@fastify/multipart'
import type { FastifyRequest } from 'fastify'
import { HttpError } from '../errors.ts'
import { csrfCheckedParts } from '../../security/csrf/index.ts'

/**
 * Room for the multipart framing around a file of MAX_UPLOAD_BYTES: boundaries, part headers,
 * the `csrf_token` field and the few other small fields an HTML form may add. A file of exactly
 * MAX_UPLOAD_BYTES is accepted; a body longer than both together is refused while it streams.
 */
export const MULTIPART_OVERHEAD_BYTES = 16 * 1024

export type UploadRefusal = 'too_large' | 'no_file'

/** The body was refused before any work on its file: too large, or no single file in the expected field. */
export class UploadRefusedError extends Error {
  readonly reason: UploadRefusal
  /** Request body bytes received when the decision was made. */
  readonly bytesReceived: number
  /** Why, for the log only. */
  readonly detail: string

  constructor(reason: UploadRefusal, bytesReceived: number, detail: string) {
    super(`upload refused: ${reason} (${detail})`)
    this.reason = reason
    this.bytesReceived = bytesReceived
    this.detail = detail
    this.name = 'UploadRefusedError'
  }
}

export interface UploadLimits {
  /** MAX_UPLOAD_BYTES: the largest file accepted. */
  maxFileBytes: number
}

export const maxBodyBytes = (limits: UploadLimits) => limits.maxFileBytes + MULTIPART_OVERHEAD_BYTES

/**
 * busboy's limits for this form: one file, a handful of small fields (`csrf_token` needs
 * about 80 bytes), few header lines. Beyond them a part is refused, never buffered.
 */
export function multipartLimits(limits: UploadLimits) {
  return {
    fileSize: limits.maxFileBytes,
    files: 1,
    fields: 8,
    fieldSize: 1024,
    fieldNameSize: 100,
    parts: 10,
    headerPairs: 16,
  }
}

/** True when the request announces a body longer than the limit: refused before a byte of it is read. */
export function declaredTooLarge(req: FastifyRequest, limits: UploadLimits): boolean {
  const header = req.headers['content-length']
  if (header === undefined || !/^\d+$/.test(header)) return false
  return Number(header) > maxBodyBytes(limits)
}

/**
 * Counts the body's bytes as they arrive, whatever the transfer coding (Content-Length or
 * chunked). Past the limit it stops feeding the parser at once and fails every `race()`:
 * nothing more is buffered, and the 413 goes out without waiting for the rest.
 */
function meterBody(raw: IncomingMessage, maxBytes: number) {
  let bytes = 0
  let refuse: (error: UploadRefusedError) => void = () => {}
  const overflow = new Promise<never>((_, reject) => {
    refuse = reject
  })
  overflow.catch(() => {}) // observed through race() only
  const stopReading = (error: UploadRefusedError) => {
    raw.removeListener('data', onData)
    raw.unpipe()
    refuse(error)
  }
  function onData(chunk: Buffer) {
    bytes += chunk.length
    if (bytes > maxBytes) stopReading(new UploadRefusedError('too_large', bytes, `body over ${maxBytes} bytes`))
  }
  raw.on('data', onData)
  return {
    get bytes() {
      return bytes
    },
    stopReading,
    race: <T>(work: Promise<T>): Promise<T> => Promise.race([work, overflow]),
    detach: () => raw.removeListener('data', onData),
  }
}

type Meter = ReturnType<typeof meterBody>

/** Reads one file part into memory, refusing it the moment busboy reports it over fileSize. */
function readFilePart(file: Readable, meter: Meter, maxFileBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let fileBytes = 0
    file.on('data', (chunk: Buffer) => {
      fileBytes += chunk.length
      chunks.push(chunk)
    })
    file.once('limit', () => {
      chunks.length = 0
      const error = new UploadRefusedError('too_large', meter.bytes, `file over ${maxFileBytes} bytes`)
      meter.stopReading(error)
      reject(error)
    })
    file.once('end', () => resolve(Buffer.concat(chunks, fileBytes)))
    file.once('error', reject)
  })
}

/** Skips a part we do not want (busboy needs every part consumed to move on). */
function discardFilePart(file: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    file.on('data', () => {})
    file.once('end', resolve)
    file.once('error', reject)
  })
}

/** busboy's and @fastify/multipart's complaints about the body's structure, as refusals. */
function refusalFor(error: unknown, meter: Meter, maxFileBytes: number): unknown {
  if (error instanceof HttpError || error instanceof UploadRefusedError) return error
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'FST_REQ_FILE_TOO_LARGE') {
    return new UploadRefusedError('too_large', meter.bytes, `file over ${maxFileBytes} bytes`)
  }
  // FST_FILES_LIMIT (a second file), FST_PARTS_LIMIT, FST_FIELDS_LIMIT, FST_PROTO_VIOLATION,
  // FST_MP_PREMATURE_CLOSE, and busboy's own errors (no boundary, truncated or malformed body):
  // whatever else is wrong, the request did not deliver exactly one file in its field.
  return new UploadRefusedError('no_file', meter.bytes, typeof code === 'string' ? `${code}: ${message}` : message)
}

/**
 * Reads the multipart body of a file upload (an avatar, lesson media), as a stream, cheapest checks first:
 * 1. the CSRF field, when the token did not come in a header, before any file part
 *    (csrfCheckedParts: no file byte is read for a forged request);
 * 2. every byte counted against MAX_UPLOAD_BYTES (+ framing) as it arrives;
 * 3. exactly one file part, named `field`, and not empty.
 * Returns the file's bytes; throws UploadRefusedError (413 or 400) or the CSRF 403.
 */
export async function readFileUpload(
  req: FastifyRequest,
  limits: UploadLimits,
  field: string,
  /** Filled with the form's small text fields (busboy bounds their size), for a form that has some. */
  textFields?: Record<string, string>,
): Promise<Buffer> {
  if (!req.isMultipart()) {
    throw new UploadRefusedError('no_file', 0, `content type ${String(req.headers['content-type'] ?? 'none')}`)
  }
  const parts = csrfCheckedParts<Multipart>(req, req.parts({ limits: multipartLimits(limits) }))
  // next() runs the parser's set-up synchronously (it pipes the request into busboy); the meter
  // attaches in the same turn, before the first chunk can flow, so it sees every byte busboy sees.
  const firstPart = parts.next()
  const meter = meterBody(req.raw, maxBodyBytes(limits))
  let file: Buffer | null = null
  try {
    let next = await meter.race(firstPart)
    while (!next.done) {
      const part = next.value
      // busboy refuses a second file part (files: 1), so the first file is the only one.
      if (part.type === 'file') {
        if (part.fieldname === field) {
          file = await meter.race(readFilePart(part.file, meter, limits.maxFileBytes))
        } else {
          await meter.race(discardFilePart(part.file))
        }
      }
      // Other fields (a submit button's name, an image's alt text) are small by busboy's limits;
      // kept only when the caller asks for them.
      else if (textFields !== undefined && typeof part.value === 'string' && part.fieldname !== 'csrf_token') {
        textFields[part.fieldname] = part.value
      }
      next = await meter.race(parts.next())
    }
  } catch (error) {
    throw refusalFor(error, meter, limits.maxFileBytes)
  } finally {
    meter.detach()
  }
  if (file === null) throw new UploadRefusedError('no_file', meter.bytes, `no file part named ${field}`)
  if (file.length === 0) throw new UploadRefusedError('no_file', meter.bytes, 'empty file part')
  return file
}
