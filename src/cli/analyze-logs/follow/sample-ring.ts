const INITIAL_CAPACITY = 1024

/**
 * Timestamped samples with a few numeric columns, in arrival order, in typed arrays (8 bytes a
 * value, no object per sample). It grows by doubling up to `maxSize`; a push beyond that drops
 * the oldest sample first, so memory has a fixed ceiling whatever the rate of lines.
 */
export class SampleRing {
  private timestamps: Float64Array
  private columns: Float64Array[]
  private head = 0
  private count = 0
  private readonly maxSize: number
  private readonly onDrop: (ring: SampleRing, slot: number) => void

  /** `onDrop` sees every sample that leaves (by retain() or by the size ceiling) before its slot is reused. */
  constructor(columnCount: number, maxSize: number, onDrop: (ring: SampleRing, slot: number) => void = () => {}) {
    if (!(maxSize >= 1)) throw new RangeError('a sample ring holds at least one sample')
    this.maxSize = maxSize
    this.onDrop = onDrop
    const capacity = Math.min(INITIAL_CAPACITY, maxSize)
    this.timestamps = new Float64Array(capacity)
    this.columns = Array.from({ length: columnCount }, () => new Float64Array(capacity))
  }

  get size(): number {
    return this.count
  }

  /** Slots allocated: what the ring costs in memory, whatever it holds now. */
  get capacity(): number {
    return this.timestamps.length
  }

  /** Adds a sample; true when the ring was full and its oldest sample had to go. */
  push(timestampMs: number, ...values: number[]): boolean {
    let dropped = false
    if (this.count === this.timestamps.length) {
      if (this.count < this.maxSize) this.grow()
      else {
        this.onDrop(this, this.head)
        this.head = this.next(this.head)
        this.count--
        dropped = true
      }
    }
    const slot = (this.head + this.count) % this.timestamps.length
    this.timestamps[slot] = timestampMs
    for (let c = 0; c < this.columns.length; c++) (this.columns[c] as Float64Array)[slot] = values[c] ?? 0
    this.count++
    return dropped
  }

  /** The timestamp in a slot handed out by forEach/retain/onDrop. */
  timestampAt(slot: number): number {
    return this.timestamps[slot] as number
  }

  valueAt(slot: number, column: number): number {
    return (this.columns[column] as Float64Array)[slot] as number
  }

  /** Adds to a column of the newest sample (e.g. one more line in the current second). */
  addToNewest(column: number, amount: number): void {
    if (this.count === 0) throw new RangeError('the ring is empty')
    const slot = (this.head + this.count - 1) % this.timestamps.length
    ;(this.columns[column] as Float64Array)[slot] = ((this.columns[column] as Float64Array)[slot] as number) + amount
  }

  newestTimestamp(): number {
    return this.count === 0 ? NaN : (this.timestamps[(this.head + this.count - 1) % this.timestamps.length] as number)
  }

  /**
   * Keeps the samples `keep` says yes to, in their order, and drops the others: one pass, in
   * place. Order does not matter to it, so a line older than those before it (two files
   * interleaved, a clock stepped back) leaves as soon as it is out of the window.
   */
  retain(keep: (slot: number) => boolean): void {
    const capacity = this.timestamps.length
    let kept = 0
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % capacity
      if (!keep(slot)) {
        this.onDrop(this, slot)
        continue
      }
      const to = (this.head + kept) % capacity
      if (to !== slot) {
        this.timestamps[to] = this.timestamps[slot] as number
        for (const column of this.columns) column[to] = column[slot] as number
      }
      kept++
    }
    this.count = kept
  }

  forEach(visit: (slot: number) => void): void {
    const capacity = this.timestamps.length
    for (let i = 0; i < this.count; i++) visit((this.head + i) % capacity)
  }

  private next(slot: number): number {
    return slot + 1 === this.timestamps.length ? 0 : slot + 1
  }

  /** Doubles the arrays, unrolling the ring so the oldest sample is at slot 0 again. */
  private grow(): void {
    const capacity = Math.min(this.timestamps.length * 2, this.maxSize)
    const unroll = (from: Float64Array) => {
      const to = new Float64Array(capacity)
      to.set(from.subarray(this.head))
      to.set(from.subarray(0, this.head), from.length - this.head)
      return to
    }
    this.timestamps = unroll(this.timestamps)
    this.columns = this.columns.map(unroll)
    this.head = 0
  }
}
