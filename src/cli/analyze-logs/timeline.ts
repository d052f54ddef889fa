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
  bucketMs: number
  buckets: BucketState[]
  exact: boolean
}

/**
 * Bucket lengths an automatic timeline (--html without --bucket) chooses from: each a
 * multiple of the one before, so buckets regroup into longer ones exactly.
 */
const AUTO_BUCKETS_MS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400].map(
  (seconds) => seconds * 1000,
)
/** An automatic timeline has at most this many buckets: bars a few pixels wide on a page. */
export const AUTO_MAX_BUCKETS = 120

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

  /** Adds another bucket's figures, as if its lines had been recorded here. */
  absorb(other: BucketState): void {
    this.requests += other.requests
    this.errors += other.errors
    this.serverErrors += other.serverErrors
    this.securityEvents += other.securityEvents
    if (other.samples !== null) {
      for (const value of other.samples) this.record(value)
      return
    }
    this.toHistogram()
    const histogram = this.histogram as Map<number, number>
    for (const [index, count] of other.histogram ?? []) {
      histogram.set(index, (histogram.get(index) ?? 0) + count)
      this.count += count
    }
    this.minMs = Math.min(this.minMs, other.minMs)
    this.maxMs = Math.max(this.maxMs, other.maxMs)
  }

  toState(): BucketState {
    return {
      index: this.index,
      requests: this.requests,
      errors: this.errors,
      serverErrors: this.serverErrors,
      securityEvents: this.securityEvents,
      minMs: this.minMs,
      maxMs: this.maxMs,
      samples: this.samples === null ? null : this.samples.slice(0, this.count),
      histogram: this.histogram === null ? null : [...this.histogram],
    }
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
  private bucketLength: number
  private readonly window: TimeWindow
  private buckets = new Map<number, Bucket>()
  /** Lines arrive in time order: the bucket of the previous line is most often the next one's. */
  private lastBucket: Bucket | null = null
  private minIndex = Infinity
  private maxIndex = -Infinity
  /** Bucket indexes fixed by the window's bounded sides (NaN when unbounded). */
  private firstIndex = NaN
  private lastIndex = NaN
  private sampleCount = 0
  private exact = true
  private readonly exactCapacity: number
  /** Chooses (and lengthens) its own bucket so the window makes at most AUTO_MAX_BUCKETS. */
  private readonly auto: boolean

  constructor(bucketMs: number | 'auto', window: TimeWindow, exactCapacity = DEFAULT_EXACT_CAPACITY) {
    this.window = window
    this.exactCapacity = exactCapacity
    this.auto = bucketMs === 'auto'
    this.bucketLength = bucketMs === 'auto' ? autoBucketFor(window) : bucketMs
    this.fixIndexes()
  }

  get bucketMs(): number {
    return this.bucketLength
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
        fromMs: Math.max(index * this.bucketLength, from),
        toMs: Math.min((index + 1) * this.bucketLength, to),
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
    return {
      bucketMs: this.bucketLength,
      buckets: [...this.buckets.values()].map((b) => b.toState()),
      exact: this.exact,
    }
  }

  /**
   * Adds another timeline's figures (same window; the same bucket, or for automatic ones
   * either's): the result is what one pass over both inputs gives.
   */
  merge(state: TimelineState): void {
    if (state.bucketMs > this.bucketLength) this.regroup(state.bucketMs)
    for (const other of state.buckets) {
      const index = Math.floor((other.index * state.bucketMs) / this.bucketLength)
      if (this.auto && this.exceeds(index, AUTO_MAX_BUCKETS)) {
        this.regroup(this.autoBucketToFit(index * this.bucketLength))
        this.merge({ ...state, buckets: state.buckets.slice(state.buckets.indexOf(other)) })
        return
      }
      this.bucketAt(index).absorb(other)
      this.sampleCount += other.samples?.length ?? 0
      for (const [, count] of other.histogram ?? []) this.sampleCount += count
    }
    if ((!state.exact || this.sampleCount > this.exactCapacity) && this.exact) this.toHistograms()
  }

  private bucketOf(timestampMs: number): Bucket {
    let index = this.indexOf(timestampMs)
    const last = this.lastBucket
    if (last !== null && last.index === index) return last
    if (this.auto && this.exceeds(index, AUTO_MAX_BUCKETS)) {
      this.regroup(this.autoBucketToFit(timestampMs))
      index = this.indexOf(timestampMs)
    }
    return (this.lastBucket = this.bucketAt(index))
  }

  private indexOf(timestampMs: number): number {
    const index = Math.floor(timestampMs / this.bucketLength)
    return index > this.lastIndex ? this.lastIndex : index // only the instant at a bounded end on a boundary
  }

  /** Whether a bucket at `index` would make the timeline longer than `limit` buckets. */
  private exceeds(index: number, limit: number): boolean {
    const minIndex = Math.min(this.minIndex, index)
    const maxIndex = Math.max(this.maxIndex, index)
    const first = Number.isNaN(this.firstIndex) ? minIndex : Math.min(this.firstIndex, minIndex)
    const last = Number.isNaN(this.lastIndex) ? maxIndex : Math.max(this.lastIndex, maxIndex)
    return last - first + 1 > limit
  }

  private bucketAt(index: number): Bucket {
    let bucket = this.buckets.get(index)
    if (bucket !== undefined) return bucket
    if (this.exceeds(index, MAX_TIMELINE_BUCKETS)) throw new TimelineTooLongError(tooManyBuckets(this.bucketLength))
    this.minIndex = Math.min(this.minIndex, index)
    this.maxIndex = Math.max(this.maxIndex, index)
    bucket = new Bucket(index)
    if (!this.exact) bucket.toHistogram()
    this.buckets.set(index, bucket)
    return bucket
  }

  /** The shortest automatic bucket, no shorter than now, that holds the lines so far and one at `timestampMs`. */
  private autoBucketToFit(timestampMs: number): number {
    const seenFrom = Math.min(this.minIndex * this.bucketLength, timestampMs)
    const seenTo = Math.max((this.maxIndex + 1) * this.bucketLength - 1, timestampMs)
    const span = { fromMs: this.window.fromMs ?? seenFrom, toMs: this.window.toMs ?? seenTo }
    return autoBucketFor(span, this.bucketLength)
  }

  /** Regroups every bucket into buckets of `bucketMs`, a multiple of the current length: exact, as the lines are kept. */
  private regroup(bucketMs: number): void {
    const oldMs = this.bucketLength
    const old = [...this.buckets.values()]
    this.bucketLength = bucketMs
    this.buckets = new Map()
    this.lastBucket = null
    this.minIndex = Infinity
    this.maxIndex = -Infinity
    this.fixIndexes()
    for (const bucket of old) this.bucketAt(this.indexOf(bucket.index * oldMs)).absorb(bucket.toState())
  }

  private fixIndexes(): void {
    this.firstIndex = this.window.fromMs === null ? NaN : Math.floor(this.window.fromMs / this.bucketLength)
    this.lastIndex = this.window.toMs === null ? NaN : lastIndexOf(this.window, this.bucketLength)
  }

  /** Past the exact capacity every bucket keeps a histogram (±0.5%), as the global percentiles do. */
  private toHistograms(): void {
    this.exact = false
    for (const bucket of this.buckets.values()) bucket.toHistogram()
  }
}

/** The shortest automatic bucket (at least `atLeastMs`) that cuts the span into at most AUTO_MAX_BUCKETS. */
function autoBucketFor(span: TimeWindow, atLeastMs = 0): number {
  if (span.fromMs === null || span.toMs === null) return Math.max(AUTO_BUCKETS_MS[0] as number, atLeastMs)
  for (const bucketMs of AUTO_BUCKETS_MS) {
    if (bucketMs < atLeastMs) continue
    if ((Timeline.bucketCount(span, bucketMs) as number) <= AUTO_MAX_BUCKETS) return bucketMs
  }
  // Longer than 120 weeks: keep doubling the longest, which stays a multiple of every shorter one.
  let bucketMs = Math.max(AUTO_BUCKETS_MS.at(-1) as number, atLeastMs)
  while ((Timeline.bucketCount(span, bucketMs) as number) > AUTO_MAX_BUCKETS) bucketMs *= 2
  return bucketMs
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
