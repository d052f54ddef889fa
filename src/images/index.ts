import { unsupportedFormat } from './errors.ts'
import { inspectImageHeader } from './inspect.ts'
import { createConcurrencyLimiter } from './queue.ts'
import { applySharpSettingsForUntrustedInput, reencodeFirstFrame } from './reencode.ts'
import { sniffImage } from './sniff.ts'
import type { ImageLimits, ProcessedImage } from './types.ts'

export { ImageRejectedError, REJECTION_MESSAGES } from './errors.ts'
export type { RejectionReason } from './errors.ts'
export { DEFAULT_IMAGE_LIMITS } from './types.ts'
export type { ImageFormat, ImageHeaderInfo, ImageLimits, ProcessedImage } from './types.ts'
export { AVATAR_MAX_EDGE_PX } from './reencode.ts'
import { AVATAR_MAX_EDGE_PX } from './reencode.ts'

/** Two decodes at once: one per core here, leaving libuv's other pool threads for disk and password hashing. */
export const DEFAULT_MAX_CONCURRENT_DECODES = 2
/** Far above the ~150 ms the slowest legitimate corpus file takes, far below a client's patience. */
export const DEFAULT_DECODE_TIMEOUT_SECONDS = 5

export interface ImageProcessorOptions {
  limits: ImageLimits
  maxConcurrent?: number
  decodeTimeoutSeconds?: number
}

export interface ProcessOptions {
  /** The longest edge of the re-encoded image: AVATAR_MAX_EDGE_PX unless given (lesson media use 1600). */
  maxEdgePx?: number
}

export interface ImageProcessor {
  /** Validates an upload and returns its re-encoded avatar; throws ImageRejectedError for every bad input. */
  process(input: Buffer, options?: ProcessOptions): Promise<ProcessedImage>
}

function assertLimits(limits: ImageLimits): void {
  for (const key of ['maxWidth', 'maxHeight', 'maxFrames', 'maxTotalPixels'] as const) {
    const value = limits[key]
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`limits.${key} must be a positive integer, got ${value}`)
    }
  }
}

/**
 * Each upload goes through the cheapest checks first, so hostile files cost as little as possible:
 * 1. sniff: the first bytes must be JPEG, PNG or GIF, whatever the name or declared type;
 * 2. inspect: the header's dimensions, frame rectangles and frame counts, read without decoding;
 * 3. decode the first frame only, re-encode at most 512×512 (or the edge asked for) with no metadata — in a bounded
 *    queue, on sharp's worker threads, so the event loop stays free and memory stays bounded.
 * Steps 1 and 2 run at once on the caller's turn: a bomb is refused without waiting for the queue.
 */
export function createImageProcessor(options: ImageProcessorOptions): ImageProcessor {
  const limits: ImageLimits = Object.freeze({ ...options.limits })
  assertLimits(limits)
  const timeoutSeconds = options.decodeTimeoutSeconds ?? DEFAULT_DECODE_TIMEOUT_SECONDS
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    throw new RangeError(`decodeTimeoutSeconds must be a whole number of seconds from 1 to 3600, got ${timeoutSeconds}`)
  }
  const decodes = createConcurrencyLimiter(options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_DECODES)
  applySharpSettingsForUntrustedInput()

  return {
    async process(input: Buffer, processOptions: ProcessOptions = {}): Promise<ProcessedImage> {
      if (!Buffer.isBuffer(input)) throw new TypeError('process() expects the upload as a Buffer')
      const maxEdgePx = processOptions.maxEdgePx ?? AVATAR_MAX_EDGE_PX
      if (!Number.isInteger(maxEdgePx) || maxEdgePx < 1) {
        throw new RangeError(`maxEdgePx must be a positive integer, got ${maxEdgePx}`)
      }
      const { format, detected } = sniffImage(input)
      if (format === null) throw unsupportedFormat(`content is ${detected}`, { format: detected })
      const header = inspectImageHeader(input, format, limits)
      return decodes.run(() => reencodeFirstFrame(input, header, { limits, timeoutSeconds, maxEdgePx }))
    },
  }
}
