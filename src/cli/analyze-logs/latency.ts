/**
 * Latency samples → nearest-rank percentiles (docs/adr/0006). Every sample is kept in a
 * Float64Array (8 bytes each) up to exactCapacity, and the percentiles are exact. Past that
 * the samples move into a log-bucketed histogram whose answers are within 0.5% of the exact
 * ones, so memory stops growing however many days of logs are read.
 */

export const DEFAULT_EXACT_CAPACITY = 4 * 1024 * 1024 // 32 MiB of samples
const INITIAL_CAPACITY = 64 * 1024

export interface LatencyPercentiles {
  p50: number
  p95: number
  p99: number
  max: number
}

export interface LatencyBin {
  fromMs: number
  toMs: number
  count: number
}

/** A recorder's figures in a form that crosses to another thread (structured clone). */
export interface LatencyState {
  count: number
  minMs: number
  maxMs: number
  samples: Float64Array | null
  histogram: HistogramState | null
}

export interface HistogramState {
  zeroCount: number
  counts: Float64Array
}

export class LatencyRecorder {
  private samples: Float64Array | null
  private sampleCount = 0
  private histogram: LogHistogram | null = null
  private maxMs = -Infinity
  private minMs = Infinity
  private readonly exactCapacity: number

  constructor(exactCapacity = DEFAULT_EXACT_CAPACITY) {
    this.exactCapacity = exactCapacity
    this.samples = new Float64Array(Math.max(1, Math.min(INITIAL_CAPACITY, exactCapacity)))
  }

  get count(): number {
    return this.sampleCount
  }

  /** False once the histogram has taken over. */
  get isExact(): boolean {
    return this.histogram === null
  }

  record(durationMs: number): void {
    if (durationMs > this.maxMs) this.maxMs = durationMs
    if (durationMs < this.minMs) this.minMs = durationMs
    const index = this.sampleCount++
    if (this.samples !== null) {
      if (index === this.samples.length) this.makeRoom()
      if (this.samples !== null) {
        this.samples[index] = durationMs
        return
      }
    }
    ;(this.histogram as LogHistogram).add(durationMs)
  }

  /** The samples so far (a copy another thread may own), or the histogram's counts past the capacity. */
  toState(): LatencyState {
    return {
      count: this.sampleCount,
      minMs: this.minMs,
      maxMs: this.maxMs,
      samples: this.samples === null ? null : this.samples.slice(0, this.sampleCount),
      histogram: this.histogram === null ? null : this.histogram.toState(),
    }
  }

  /**
   * Adds another recorder's samples: the same percentiles as one recorder fed both. Exact
   * while the two hold no more than exactCapacity samples together; past it, both become one
   * histogram, whose counts add up exactly (every histogram has the same buckets).
   */
  merge(state: LatencyState): void {
    if (state.samples !== null) {
      for (let i = 0; i < state.samples.length; i++) this.record(state.samples[i] as number)
      return
    }
    if (this.histogram === null) this.makeRoom(true)
    ;(this.histogram as LogHistogram).mergeState(state.histogram as HistogramState)
    this.sampleCount += state.count
    this.minMs = Math.min(this.minMs, state.minMs)
    this.maxMs = Math.max(this.maxMs, state.maxMs)
  }

  /** Nearest-rank p50/p95/p99 and the maximum; null when there is no sample. */
  percentiles(): LatencyPercentiles | null {
    const n = this.sampleCount
    if (n === 0) return null
    if (this.samples !== null) {
      // Three order statistics, not a sorted array: selection is linear where a sort of a
      // million samples is ~100 ms. Each selection leaves the smaller values below its rank,
      // so the next, smaller rank is looked for there alone.
      const samples = this.samples.subarray(0, n)
      const [r50, r95, r99] = [50, 95, 99].map((percent) => nearestRank(percent, n) - 1) as [number, number, number]
      const p99 = selectInPlace(samples, r99, 0, n - 1)
      const p95 = selectInPlace(samples, r95, 0, r99)
      const p50 = selectInPlace(samples, r50, 0, r95)
      return { p50, p95, p99, max: this.maxMs }
    }
    const at = (percent: number) => this.valueAtRank(nearestRank(percent, n))
    return { p50: at(50), p95: at(95), p99: at(99), max: this.maxMs }
  }

  /**
   * How the durations spread: `binCount` bins of equal width on a log scale from the smallest
   * positive duration to the largest (latencies span orders of magnitude), each with its count.
   * A duration of 0 counts in the first bin. Empty when there is no sample.
   */
  distribution(binCount: number): LatencyBin[] {
    const n = this.sampleCount
    if (n === 0) return []
    const visitAll = (visit: (valueMs: number, count: number) => void) => {
      if (this.samples !== null) for (let i = 0; i < n; i++) visit(this.samples[i] as number, 1)
      else (this.histogram as LogHistogram).forEachBucket(visit)
    }
    let low = Infinity
    visitAll((value) => {
      if (value > 0 && value < low) low = value
    })
    const high = this.maxMs
    if (!(low < high)) return [{ fromMs: Math.min(this.minMs, high), toMs: high, count: n }]
    const logLow = Math.log(low)
    const scale = binCount / (Math.log(high) - logLow)
    const bins = Array.from({ length: binCount }, (_, i) => ({
      fromMs: Math.exp(logLow + i / scale),
      toMs: Math.exp(logLow + (i + 1) / scale),
      count: 0,
    }))
    visitAll((value, count) => {
      const i = value <= low ? 0 : Math.min(binCount - 1, Math.floor((Math.log(value) - logLow) * scale))
      ;(bins[i] as LatencyBin).count += count
    })
    return bins
  }

  private valueAtRank(rank: number): number {
    if (this.samples !== null) return this.samples[rank - 1] as number
    const estimate = (this.histogram as LogHistogram).valueAtRank(rank)
    return Math.min(Math.max(estimate, this.minMs), this.maxMs)
  }

  private makeRoom(toHistogram = false): void {
    const samples = this.samples as Float64Array
    if (samples.length >= this.exactCapacity || toHistogram) {
      const histogram = new LogHistogram()
      for (let i = 0; i < this.sampleCount && i < samples.length; i++) histogram.add(samples[i] as number)
      this.histogram = histogram
      this.samples = null
      return
    }
    const grown = new Float64Array(Math.min(samples.length * 2, this.exactCapacity))
    grown.set(samples)
    this.samples = grown
  }
}

/**
 * The value that would be at index `k` if values[left..right] were sorted (Hoare's selection,
 * median-of-three pivots). Reorders that part of the array: afterwards every value before k is
 * ≤ the answer and every value after it ≥. Linear on average; the logs' durations are not an
 * adversary's input (and an unlucky one costs time, never a wrong answer).
 */
export function selectInPlace(values: Float64Array, k: number, left: number, right: number): number {
  while (right > left) {
    const middle = (left + right) >>> 1
    // Median of three as the pivot: sorted data (a common case) stays linear.
    if ((values[middle] as number) < (values[left] as number)) swap(values, middle, left)
    if ((values[right] as number) < (values[left] as number)) swap(values, right, left)
    if ((values[right] as number) < (values[middle] as number)) swap(values, right, middle)
    const pivot = values[middle] as number
    let i = left
    let j = right
    while (i <= j) {
      while ((values[i] as number) < pivot) i++
      while ((values[j] as number) > pivot) j--
      if (i <= j) {
        swap(values, i, j)
        i++
        j--
      }
    }
    if (k <= j) right = j
    else if (k >= i) left = i
    else return values[k] as number
  }
  return values[k] as number
}

function swap(values: Float64Array, a: number, b: number): void {
  const t = values[a] as number
  values[a] = values[b] as number
  values[b] = t
}

/** Nearest rank: the smallest rank whose share of the samples reaches `percent`, 1-based. */
export function nearestRank(percent: number, count: number): number {
  // percent × count is an exact integer, so the division can only land on an integer when it is one.
  return Math.max(1, Math.ceil((percent * count) / 100))
}

/** Relative accuracy of the histogram's answers: ±0.5%, half of what the contract allows. */
export const HISTOGRAM_RELATIVE_ACCURACY = 0.005
const GAMMA = (1 + HISTOGRAM_RELATIVE_ACCURACY) / (1 - HISTOGRAM_RELATIVE_ACCURACY)
const LOG_GAMMA = Math.log(GAMMA)
/** Below one nanosecond a duration counts as zero; above ~115 days it shares the last bucket. */
const SMALLEST_MS = 1e-6
const LARGEST_MS = 1e10
const MIN_INDEX = Math.ceil(Math.log(SMALLEST_MS) / LOG_GAMMA)
const MAX_INDEX = Math.ceil(Math.log(LARGEST_MS) / LOG_GAMMA)
/** Below every real index: the bucket of durations under SMALLEST_MS, answered as 0. */
export const ZERO_INDEX = MIN_INDEX - 1

/**
 * Logarithmic buckets (the DDSketch layout): bucket i holds (γ^(i-1), γ^i], and answers
 * 2γ^i/(γ+1), which is within HISTOGRAM_RELATIVE_ACCURACY of every value in it. About 3,700
 * buckets cover a nanosecond to four months: 30 KB, whatever the number of samples.
 */
export class LogHistogram {
  private readonly counts = new Float64Array(MAX_INDEX - MIN_INDEX + 1)
  private zeroCount = 0

  add(valueMs: number): void {
    const index = histogramIndexOf(valueMs)
    if (index === ZERO_INDEX) this.zeroCount++
    else this.counts[index - MIN_INDEX] = (this.counts[index - MIN_INDEX] as number) + 1
  }

  toState(): HistogramState {
    return { zeroCount: this.zeroCount, counts: this.counts.slice() }
  }

  mergeState(state: HistogramState): void {
    this.zeroCount += state.zeroCount
    for (let i = 0; i < this.counts.length; i++)
      this.counts[i] = (this.counts[i] as number) + (state.counts[i] as number)
  }

  /** Each non-empty bucket's value (what it answers) and count, smallest first. */
  forEachBucket(visit: (valueMs: number, count: number) => void): void {
    if (this.zeroCount > 0) visit(0, this.zeroCount)
    this.counts.forEach((count, i) => {
      if (count > 0) visit(histogramValueOf(i + MIN_INDEX), count)
    })
  }

  /** The value at a 1-based rank, within the relative accuracy. */
  valueAtRank(rank: number): number {
    let seen = this.zeroCount
    if (seen >= rank) return 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number
      if (seen >= rank) return histogramValueOf(i + MIN_INDEX)
    }
    return LARGEST_MS
  }
}

/** The histogram bucket of a value (ZERO_INDEX below a nanosecond): the same for every histogram, so counts add up exactly. */
export function histogramIndexOf(valueMs: number): number {
  if (valueMs < SMALLEST_MS) return ZERO_INDEX
  return Math.min(Math.ceil(Math.log(valueMs) / LOG_GAMMA), MAX_INDEX)
}

/** What a histogram bucket answers for every value in it. */
export function histogramValueOf(index: number): number {
  return index === ZERO_INDEX ? 0 : (2 * GAMMA ** index) / (GAMMA + 1)
}
