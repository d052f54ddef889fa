import { ImageRejectedError, invalidImage } from './errors.ts'
import { inspectGif } from './inspect-gif.ts'
import { inspectJpeg } from './inspect-jpeg.ts'
import { inspectPng } from './inspect-png.ts'
import type { ImageFormat, ImageHeaderInfo, ImageLimits } from './types.ts'

/**
 * The cheap gate before any decoding: reads the declared dimensions, frame rectangles and
 * frame counts from the header structures of a file already sniffed as `format`, and throws
 * an ImageRejectedError (`dimensions` or `invalid`) as soon as something is wrong.
 * Costs one pass over the bytes at most, and allocates nothing per pixel.
 */
export function inspectImageHeader(bytes: Buffer, format: ImageFormat, limits: ImageLimits): ImageHeaderInfo {
  try {
    switch (format) {
      case 'png':
        return inspectPng(bytes, limits)
      case 'jpeg':
        return inspectJpeg(bytes, limits)
      case 'gif':
        return inspectGif(bytes, limits)
    }
  } catch (error) {
    if (error instanceof ImageRejectedError) throw error
    // Every read above is bounds-checked first; should one still fall off the end of the
    // buffer, the file is short of what its header promised, which is the client's fault,
    // not a server error.
    if (error instanceof RangeError) throw invalidImage(`header walk out of range: ${error.message}`, { format })
    throw error
  }
}
