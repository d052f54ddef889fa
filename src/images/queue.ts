/**
 * Runs at most `maxConcurrent` tasks at once; the rest wait their turn in arrival order.
 * Decoding is the memory-hungry step (up to a full frame of pixels each), so bounding how
 * many run together bounds the memory, while every upload still completes.
 */
export interface ConcurrencyLimiter {
  run<T>(task: () => Promise<T>): Promise<T>
  /** Tasks running now. */
  readonly active: number
  /** Tasks waiting for a slot. */
  readonly waiting: number
}

export function createConcurrencyLimiter(maxConcurrent: number): ConcurrencyLimiter {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new RangeError(`maxConcurrent must be a positive integer, got ${maxConcurrent}`)
  }
  let active = 0
  const queue: Array<() => void> = []

  function release(): void {
    const next = queue.shift()
    // The slot passes straight to the next task, so `active` never dips and a newcomer cannot jump the queue.
    if (next) next()
    else active -= 1
  }

  async function acquire(): Promise<void> {
    if (active < maxConcurrent) {
      active += 1
      return
    }
    await new Promise<void>((resolve) => queue.push(resolve))
  }

  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      await acquire()
      try {
        return await task()
      } finally {
        release()
      }
    },
    get active() {
      return active
    },
    get waiting() {
      return queue.length
    },
  }
}
