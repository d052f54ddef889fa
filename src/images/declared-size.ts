import { dimensionsTooLarge, invalidImage, type ImageRejectedError } from './errors.ts'
import type { ImageFormat, ImageHeaderInfo, ImageLimits } from './types.ts'

/**
 * Collects the sizes a header declares while it is walked and refuses the file the moment
 * one is over the limits, so a bomb is caught by its header and never decoded.
 *
 * Total pixels are counted as frames × the canvas that holds every frame: a decoder that
 * composites frames allocates that canvas, whatever the logical screen claims.
 */
export class DeclaredSize {
  private width: number | null = null
  private height: number | null = null
  private canvasWidth = 0
  private canvasHeight = 0
  private frames = 0

  private readonly format: ImageFormat
  private readonly limits: ImageLimits

  constructor(format: ImageFormat, limits: ImageLimits) {
    this.format = format
    this.limits = limits
  }

  /** The image size the header states (IHDR, SOF, GIF logical screen). */
  declareImage(width: number, height: number): void {
    this.width = width
    this.height = height
    if (width > this.limits.maxWidth || height > this.limits.maxHeight) {
      throw this.tooLarge(`declared ${width}×${height} exceeds ${this.limits.maxWidth}×${this.limits.maxHeight}`)
    }
    this.growCanvas(width, height)
  }

  /** A frame rectangle (GIF image descriptor, APNG fcTL): its right and bottom edges must be within the limits. */
  declareFrameRect(left: number, top: number, width: number, height: number): void {
    const right = left + width
    const bottom = top + height
    if (right > this.limits.maxWidth || bottom > this.limits.maxHeight) {
      throw this.tooLarge(
        `frame ${width}×${height} at (${left},${top}) reaches ${right}×${bottom}, beyond ${this.limits.maxWidth}×${this.limits.maxHeight}`,
      )
    }
    this.growCanvas(right, bottom)
  }

  /** A frame count, declared (APNG acTL) or counted so far (GIF); only ever raises the count. */
  declareFrames(count: number): void {
    if (count <= this.frames) return
    this.frames = count
    if (count > this.limits.maxFrames) {
      throw this.tooLarge(`${count} frames exceed the limit of ${this.limits.maxFrames}`)
    }
    this.checkTotalPixels()
  }

  /** A rejection for a structural fault, carrying the facts known so far for the log. */
  invalid(detail: string): ImageRejectedError {
    return invalidImage(detail, this.facts())
  }

  result(): ImageHeaderInfo {
    if (this.width === null || this.height === null) throw this.invalid('no image header')
    return {
      format: this.format,
      width: this.width,
      height: this.height,
      frames: Math.max(this.frames, 1),
      canvasWidth: this.canvasWidth,
      canvasHeight: this.canvasHeight,
    }
  }

  private growCanvas(width: number, height: number): void {
    this.canvasWidth = Math.max(this.canvasWidth, width)
    this.canvasHeight = Math.max(this.canvasHeight, height)
    this.checkTotalPixels()
  }

  private checkTotalPixels(): void {
    const frames = Math.max(this.frames, 1)
    // Doubles hold these products exactly up to 2^53, far above any limit worth configuring;
    // beyond that the comparison is still correct, merely approximate.
    const totalPixels = frames * this.canvasWidth * this.canvasHeight
    if (totalPixels > this.limits.maxTotalPixels) {
      throw this.tooLarge(
        `${frames} frame(s) × ${this.canvasWidth}×${this.canvasHeight} = ${totalPixels} pixels exceed ${this.limits.maxTotalPixels}`,
      )
    }
  }

  private tooLarge(detail: string): ImageRejectedError {
    return dimensionsTooLarge(detail, this.facts())
  }

  private facts() {
    return { format: this.format, width: this.width, height: this.height, frames: this.frames || null }
  }
}
