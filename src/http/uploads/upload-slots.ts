/**
 * How many uploads may be received or processed at once. Each holds its body in memory
 * (up to MAX_UPLOAD_BYTES) until it is decoded, and the decode queue (src/images) is FIFO and
 * unbounded, so this is what bounds the memory a burst of uploads can take. A request beyond
 * it is refused at once (503), rather than queued.
 */
export interface UploadSlots {
  /** A release function (safe to call more than once), or null when every slot is taken. */
  tryAcquire(): (() => void) | null
  readonly inUse: number
}

/** Far above ten concurrent uploads; at the default 5 MB limit, at most 320 MB of bodies. */
export const DEFAULT_MAX_UPLOADS_IN_FLIGHT = 64

export function createUploadSlots(max: number): UploadSlots {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`)
  let inUse = 0
  return {
    tryAcquire() {
      if (inUse >= max) return null
      inUse += 1
      let released = false
      return () => {
        if (released) return
        released = true
        inUse -= 1
      }
    },
    get inUse() {
      return inUse
    },
  }
}
