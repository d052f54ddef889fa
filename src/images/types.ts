/** The only formats an upload may be. Everything else is refused from its first bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'gif'

/**
 * Size limits checked against what a file declares, before anything is decoded.
 * Width and height are inclusive; `maxTotalPixels` bounds frames × width × height, so an
 * animation cannot multiply its way past the single-frame limit.
 */
export interface ImageLimits {
  maxWidth: number
  maxHeight: number
  maxFrames: number
  maxTotalPixels: number
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze({
  maxWidth: 4096,
  maxHeight: 4096,
  maxFrames: 1000,
  maxTotalPixels: 2 ** 26,
})

/** What the header walk learned about a file that passed it. */
export interface ImageHeaderInfo {
  format: ImageFormat
  /** Width and height the file declares for its image (PNG IHDR, JPEG SOF, GIF logical screen). */
  width: number
  height: number
  /** Frames declared or counted: 1 for a still image. */
  frames: number
  /** The smallest canvas holding the declared size and every frame rectangle. */
  canvasWidth: number
  canvasHeight: number
}

/** A re-encoded avatar: new bytes made from decoded pixels, never a byte of the upload. */
export interface ProcessedImage {
  data: Buffer
  contentType: 'image/jpeg' | 'image/png' | 'image/gif'
  width: number
  height: number
  sourceFormat: ImageFormat
  /** The upload's own size, as the decoder read it (before orientation and resizing). */
  sourceWidth: number
  sourceHeight: number
}
