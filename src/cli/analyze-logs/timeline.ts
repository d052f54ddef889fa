import {
  DEFAULT_EXACT_CAPACITY,
  histogramIndexOf,
  histogramValueOf,
  nearestRank,
  type LatencyPercentiles,
} from './latency.ts'
import type { TimeWindow } from './window.ts'

/**
 * `--bucket DURATION` (CONTRACT §13): the window cut into buckets of equal length, each with
 * its requests, errors, server errors, exact percentiles (the global method: nearest rank) and
 * security events. Buckets are aligned on multiples of their length since the epoch (a 5m
 * bucket starts at :00, :05, …, in UTC), so two runs over overlapping windows share buckets;
 * the first and last are cut to the window's edges. An instant exactly at a bounded window's
 * end that is also a bucket boundary belongs to the bucket before it, so the window never
 * ends with a bucket of no length.
 *
 * A side of the window left unbounded ends at the first (or last) counted line. Buckets in
 * between with no line are listed, with zero counts and null percentiles.
 */

/** More buckets than a chart can show or a person can read; also bounds the memory they take. */
export const MAX_TIMELINE_BUCKETS = 10_000

export interface TimelineEntry {
  fromMs: number
  toMs: number
  requests: number
  errors: number
  serverErrors: number
  latencyMs: LatencyPercentiles | null
  securityEvents: number
}

/** The window would need more than MAX_TIMELINE_BUCKETS buckets of this length. */
export class TimelineTooLongError extends Error {}

/** One bucket's figures, in a form that crosses a worker boundary and merges exactly. */
export interface BucketState {
  index: number
  requests: number
  errors: number
  serverErrors: number
  securityEvents: number
  minMs: number
  maxMs: number
  /** Every duration, while the timeline is exact… */
  samples: Float64Array | null
  /** …else [histogram index, count] pairs (latency.ts's buckets). */
  histogram: Array<[number, number]> | null
}

export interface TimelineState {
  buckets: BucketState[]
  exact: boolean
}

class Bucket {
  requests = 0
  errors = 0
  serverErrors = 0
  securityEvents = 0
  minMs = Infinity
  maxMs = -Infinity
  samples: Float64Array | null = new Float64Array(8)
  count = 0
  histogram: Map<number, number> | null = null

  readonly index: number
  constructor(index: number) {
    this.index = index
  }

  record(durationMs: number): void {
    if (durationMs < this.minMs) this.minMs = durationMs
    if (durationMs > this.maxMs) this.maxMs = durationMs
    if (this.samples === null) {
      const index = histogramIndexOf(durationMs)
      const histogram = this.histogram as Map<number, number>
      histogram.set(index, (histogram.get(index) ?? 0) + 1)
    } else {
      if (this.count === this.samples.length) {
        const grown = new Float64Array(this.samples.length * 2)
        grown.set(this.samples)
        this.samples = grown
      }
      this.samples[this.count] = durationMs
    }
    this.count++
  }

  toHistogram(): void {
    if (this.samples === null) return
    const samples = this.samples.subarray(0, this.count)
    this.samples = null
    this.histogram = new Map()
    for (const value of samples) {
      const index = histogramIndexOf(value)
      this.histogram.set(index, (this.histogram.get(index) ?? 0) + 1)
    }
  }

  percentiles(): LatencyPercentiles | null {
    const n = this.count
    if (n === 0) return null
    if (this.samples !== null) {
      const sorted = this.samples.subarray(0, n).sort()
      const at = (percent: number) => sorted[nearestRank(percent, n) - 1] as number
      return { p50: at(50), p95: at(95), p99: at(99), max: this.maxMs }
    }
    const counts = [...(this.histogram as Map<number, number>)].sort(([a], [b]) => a - b)
    const at = (percent: number) => {
      const rank = nearestRank(percent, n)
      let seen = 0
      for (const [index, count] of counts) {
        seen += count
        if (seen >= rank) return Math.min(Math.max(histogramValueOf(index), this.minMs), this.maxMs)
      }
      return this.maxMs
    }
    return { p50: at(50), p95: at(95), p99: at(99), max: this.maxMs }
  }
}

export class Timeline {
  readonly bucketMs: number
  private readonly window: TimeWindow
  private readonly buckets = new Map<number, Bucket>()
  /** Lines arrive in time order: the bucket of the previous line is most often the next one's. */
  private lastBucket: Bucket | null = null
  private minIndex = Infinity
  private maxIndex = -Infinity
  /** Bucket indexes fixed by the window's bounded sides (NaN when unbounded). */
  private readonly firstIndex: number
  private readonly lastIndex: number
  private sampleCount = 0
  private exact = true
  private readonly exactCapacity: number

  constructor(bucketMs: number, window: TimeWindow, exactCapacity = DEFAULT_EXACT_CAPACITY) {
    this.bucketMs = bucketMs
    this.window = window
    this.exactCapacity = exactCapacity
    this.firstIndex = window.fromMs === null ? NaN : Math.floor(window.fromMs / bucketMs)
    this.lastIndex = window.toMs === null ? NaN : lastIndexOf(window, bucketMs)
  }

  get isExact(): boolean {
    return this.exact
  }

  /**
   * How many buckets the window makes when both its sides are bounded, else null: the
   * command refuses a bucket too short for the window before it reads anything.
   */
  static bucketCount(window: TimeWindow, bucketMs: number): number | null {
    if (window.fromMs === null || window.toMs === null) return null
    return lastIndexOf(window, bucketMs) - Math.floor(window.fromMs / bucketMs) + 1
  }

  addRequest(timestampMs: number, status: number, durationMs: number): void {
    const bucket = this.bucketOf(timestampMs)
    bucket.requests++
    if (status >= 400) {
      bucket.errors++
      if (status >= 500) bucket.serverErrors++
    }
    bucket.record(durationMs)
    if (++this.sampleCount > this.exactCapacity && this.exact) this.toHistograms()
  }

  addSecurityEvent(timestampMs: number): void {
    this.bucketOf(timestampMs).securityEvents++
  }

  /** Every bucket of the window in time order, the empty ones included. */
  entries(): TimelineEntry[] {
    const first = Number.isNaN(this.firstIndex) ? this.minIndex : this.firstIndex
    const last = Number.isNaN(this.lastIndex) ? this.maxIndex : this.lastIndex
    if (!Number.isFinite(first) || !Number.isFinite(last)) return []
    const from = this.window.fromMs ?? -Infinity
    const to = this.window.toMs ?? Infinity
    const entries: TimelineEntry[] = []
    for (let index = first; index <= last; index++) {
      const bucket = this.buckets.get(index)
      entries.push({
        fromMs: Math.max(index * this.bucketMs, from),
        toMs: Math.min((index + 1) * this.bucketMs, to),
        requests: bucket?.requests ?? 0,
        errors: bucket?.errors ?? 0,
        serverErrors: bucket?.serverErrors ?? 0,
        latencyMs: bucket?.percentiles() ?? null,
        securityEvents: bucket?.securityEvents ?? 0,
      })
    }
    return entries
  }

  /** The figures so far, to send to another thread; the samples are copies it may own. */
  toState(): TimelineState {
    const buckets = [...this.buckets.values()].map((b): BucketState => ({
      index: b.index,
      requests: b.requests,
      errors: b.errors,
      serverErrors: b.serverErrors,
      securityEvents: b.securityEvents,
      minMs: b.minMs,
      maxMs: b.maxMs,
      samples: b.samples === null ? null : b.samples.slice(0, b.count),
      histogram: b.histogram === null ? null : [...b.histogram],
    }))
    return { buckets, exact: this.exact }
  }

  /** Adds another timeline's figures (same bucket length and window): the result is what one pass over both inputs gives. */
  merge(state: TimelineState): void {
    for (const other of state.buckets) {
      const bucket = this.bucketAt(other.index)
      bucket.requests += other.requests
      bucket.errors += other.errors
      bucket.serverErrors += other.serverErrors
      bucket.securityEvents += other.securityEvents
      if (other.samples !== null) {
        for (const value of other.samples) bucket.record(value)
        this.sampleCount += other.samples.length
      } else {
        bucket.toHistogram()
        const histogram = bucket.histogram as Map<number, number>
        for (const [index, count] of other.histogram ?? []) {
          histogram.set(index, (histogram.get(index) ?? 0) + count)
          bucket.count += count
          this.sampleCount += count
        }
        bucket.minMs = Math.min(bucket.minMs, other.minMs)
        bucket.maxMs = Math.max(bucket.maxMs, other.maxMs)
      }
    }
    if ((!state.exact || this.sampleCount > this.exactCapacity) && this.exact) this.toHistograms()
  }

  private bucketOf(timestampMs: number): Bucket {
    let index = Math.floor(timestampMs / this.bucketMs)
    if (index > this.lastIndex) index = this.lastIndex // only the instant at a bounded end on a boundary
    const last = this.lastBucket
    if (last !== null && last.index === index) return last
    return (this.lastBucket = this.bucketAt(index))
  }

  private bucketAt(index: number): Bucket {
    let bucket = this.buckets.get(index)
    if (bucket !== undefined) return bucket
    const minIndex = Math.min(this.minIndex, index)
    const maxIndex = Math.max(this.maxIndex, index)
    const first = Number.isNaN(this.firstIndex) ? minIndex : Math.min(this.firstIndex, minIndex)
    const last = Number.isNaN(this.lastIndex) ? maxIndex : Math.max(this.lastIndex, maxIndex)
    if (last - first + 1 > MAX_TIMELINE_BUCKETS) throw new TimelineTooLongError(tooManyBuckets(this.bucketMs))
    this.minIndex = minIndex
    this.maxIndex = maxIndex
    bucket = new Bucket(index)
    if (!this.exact) bucket.toHistogram()
    this.buckets.set(index, bucket)
    return bucket
  }

  /** Past the exact capacity every bucket keeps a histogram (±0.5%), as the global percentiles do. */
  private toHistograms(): void {
    this.exact = false
    for (const bucket of this.buckets.values()) bucket.toHistogram()
  }
}

/** The last bucket of a window bounded on the right: an end on a boundary closes the bucket before. */
function lastIndexOf(window: TimeWindow, bucketMs: number): number {
  const toMs = window.toMs as number
  const index = Math.ceil(toMs / bucketMs) - 1
  const first = window.fromMs === null ? -Infinity : Math.floor(window.fromMs / bucketMs)
  return Math.max(index, first)
}

export function tooManyBuckets(bucketMs: number): string {
  return (
    `--bucket ${formatDuration(bucketMs)} cuts the window into more than ${MAX_TIMELINE_BUCKETS.toLocaleString('en-US')} ` +
    'buckets: choose a longer bucket or a shorter window'
  )
}

/** 300000 → "5m", 5400000 → "90m", 1500 → "1.5s": the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms / 1000}s`
}
