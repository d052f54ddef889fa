import sharp from 'sharp'
import { dimensionsTooLarge, ImageRejectedError, invalidImage, type RejectionFacts } from './errors.ts'
import type { ImageFormat, ImageHeaderInfo, ImageLimits, ProcessedImage } from './types.ts'

export const AVATAR_MAX_EDGE_PX = 512
const JPEG_QUALITY = 85

/**
 * The stored format for each upload format. JPEG stays JPEG (photos: a PNG of one would be
 * several times larger); PNG stays PNG (lossless, keeps transparency); GIF becomes a PNG of
 * its first frame (same palette-style pixels and transparency, no animation machinery left to
 * serve, and one encoder less to trust).
 */
const OUTPUT_FORMAT: Readonly<Record<ImageFormat, 'jpeg' | 'png'>> = { jpeg: 'jpeg', png: 'png', gif: 'png' }
const CONTENT_TYPE = { jpeg: 'image/jpeg', png: 'image/png' } as const

export interface ReencodeOptions {
  limits: ImageLimits
  /** Wall-clock budget for decoding and encoding, whole seconds (sharp's granularity). */
  timeoutSeconds: number
  /** The longest edge of the re-encoded image (avatars: 512; lesson media: 1600). */
  maxEdgePx?: number
}

/**
 * Process-wide sharp settings for untrusted uploads, applied by whoever builds an image processor.
 * - cache(false): libvips keeps recent operations (up to 50 MB by default) for reuse; every
 *   upload is a new image, so the cache would only hold memory that a burst of uploads needs.
 * - concurrency(1): one libvips worker thread per image. The processor's own queue decides
 *   how many images decode at once, so peak memory is that number of frames, not that times
 *   the core count (glibc builds already default to 1; this makes other platforms agree).
 */
export function applySharpSettingsForUntrustedInput(): void {
  sharp.cache(false)
  sharp.concurrency(1)
}

/**
 * Decodes the first frame only, under sharp's own pixel limit lowered to ours and a time
 * budget, turns it upright from its EXIF orientation, shrinks it to fit the edge (512×512 for
 * avatars; never
 * enlarging) and encodes it afresh. sharp writes no metadata unless asked, so EXIF (GPS
 * included), XMP, ICC profiles and text chunks are all gone; pixels are converted to sRGB.
 */
export async function reencodeFirstFrame(
  input: Buffer,
  header: ImageHeaderInfo,
  options: ReencodeOptions,
): Promise<ProcessedImage> {
  const facts: RejectionFacts = {
    format: header.format,
    width: header.width,
    height: header.height,
    frames: header.frames,
  }
  const image = sharp(input, {
    // 'error' stops on truncation and on real decoding errors; 'warning' would also refuse files
    // every viewer shows (stray bytes between JPEG markers, benign libpng warnings).
    failOn: 'error',
    limitInputPixels: Math.min(options.limits.maxWidth * options.limits.maxHeight, options.limits.maxTotalPixels),
    sequentialRead: true,
    pages: 1,
    page: 0,
  })

  try {
    const metadata = await image.metadata()
    // libvips picks its loader from the bytes too; this proves it picked the one we vetted.
    if (metadata.format !== header.format) {
      throw invalidImage(`decoder read the file as ${String(metadata.format)}, not ${header.format}`, facts)
    }
    const sourceWidth = metadata.width
    const sourceHeight = metadata.pageHeight ?? metadata.height
    if (sourceWidth > options.limits.maxWidth || sourceHeight > options.limits.maxHeight) {
      throw dimensionsTooLarge(`decoder reports ${sourceWidth}×${sourceHeight}`, facts)
    }

    const outputFormat = OUTPUT_FORMAT[header.format]
    const maxEdgePx = options.maxEdgePx ?? AVATAR_MAX_EDGE_PX
    const pipeline = image
      .autoOrient()
      .resize({ width: maxEdgePx, height: maxEdgePx, fit: 'inside', withoutEnlargement: true })
      .timeout({ seconds: options.timeoutSeconds })
    const encoded = outputFormat === 'jpeg' ? pipeline.jpeg({ quality: JPEG_QUALITY }) : pipeline.png()
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true })

    return {
      data,
      contentType: CONTENT_TYPE[outputFormat],
      width: info.width,
      height: info.height,
      sourceFormat: header.format,
      sourceWidth,
      sourceHeight,
    }
  } catch (error) {
    throw rejectionFromDecoder(error, facts)
  }
}

/**
 * Whatever the decoder says about a file that passed the header gate is about the file:
 * it could not be decoded within our limits, so it is an invalid image (or, if sharp's
 * own pixel limit fired, a too-large one). The decoder's words go to the log only.
 */
export function rejectionFromDecoder(error: unknown, facts: RejectionFacts): Error {
  if (error instanceof ImageRejectedError) return error
  const message = error instanceof Error ? error.message : String(error)
  const firstLine = message.split('\n', 1)[0] ?? ''
  if (firstLine.includes('exceeds pixel limit')) return dimensionsTooLarge(`decoder: ${firstLine}`, facts)
  if (firstLine.startsWith('timeout')) return invalidImage(`decoding exceeded its time budget (${firstLine})`, facts)
  return invalidImage(`decoder: ${firstLine}`, facts)
}
