import { ErrorGroups, type ErrorGroup, type ErrorGroupsState } from './error-groups.ts'
import { EVENT_ABSENT, EVENT_REQUEST_COMPLETE, SECURITY_EVENT_BASE, SECURITY_EVENT_NAMES } from './events.ts'
import { LINE_BLANK, LINE_OBJECT, type LineFields } from './fields.ts'
import { LatencyRecorder, type LatencyBin, type LatencyPercentiles, type LatencyState } from './latency.ts'
import type { Timeline, TimelineState } from './timeline.ts'

/** The figures of CONTRACT §8, before alerts. */
export interface LogSummary {
  totalRequests: number
  errorRequests: number
  serverErrorRequests: number
  /** errorRequests / totalRequests; 0 when there is no request. */
  errorRate: number
  serverErrorRate: number
  latencyMs: LatencyPercentiles | null
  /** False when there were so many requests that the percentiles come from the histogram (±0.5%). */
  latencyExact: boolean
  topErrors: ErrorGroup[]
  /** 0 when the top-error counts are exact; otherwise how low any of them may be. */
  topErrorsMaxUndercount: number
  securityEvents: Record<string, number>
  skippedLines: number
}

/** What LogStats has counted, in a form that crosses to another thread and merges exactly. */
export interface LogStatsState {
  totalRequests: number
  errorRequests: number
  serverErrorRequests: number
  skippedLines: number
  securityCounts: Float64Array
  latency: LatencyState
  errors: ErrorGroupsState
  timeline: TimelineState | null
}

export interface LogStatsOptions {
  contains: (timestampMs: number) => boolean
  topErrors: number
  latencyExactCapacity?: number
  errorGroupCapacity?: number
  /** With --bucket: the same lines, also counted per bucket of time. */
  timeline?: Timeline | null
}

/**
 * Folds lines into the figures. A line is skipped (and counted) when it is not a JSON object,
 * has no valid `timestamp` or no string `event`, or is a `request_complete` without an integer
 * `status_code` and a finite, non-negative `duration_ms`. The check comes before the window,
 * so the skipped count does not depend on which window is asked for.
 */
export class LogStats {
  private totalRequests = 0
  private errorRequests = 0
  private serverErrorRequests = 0
  private skippedLines = 0
  private readonly securityCounts = new Float64Array(SECURITY_EVENT_NAMES.length)
  private readonly latency: LatencyRecorder
  private readonly errors: ErrorGroups
  private readonly contains: (timestampMs: number) => boolean
  private readonly timeline: Timeline | null

  private readonly options: LogStatsOptions

  constructor(options: LogStatsOptions) {
    this.options = options
    this.contains = options.contains
    this.timeline = options.timeline ?? null
    this.latency = new LatencyRecorder(options.latencyExactCapacity)
    this.errors = new ErrorGroups(options.errorGroupCapacity ?? Math.max(10_000, options.topErrors * 10))
  }

  add(line: LineFields): void {
    if (line.shape !== LINE_OBJECT) {
      if (line.shape !== LINE_BLANK) this.skippedLines++
      return
    }
    const event = line.event
    if (event === EVENT_ABSENT || Number.isNaN(line.timestampMs)) {
      this.skippedLines++
      return
    }
    if (event === EVENT_REQUEST_COMPLETE) {
      const status = line.statusCode
      const durationMs = line.durationMs
      if (!Number.isInteger(status) || !(durationMs >= 0 && durationMs < Infinity)) {
        this.skippedLines++
        return
      }
      if (!this.contains(line.timestampMs)) return
      this.totalRequests++
      this.latency.record(durationMs)
      this.timeline?.addRequest(line.timestampMs, status, durationMs)
      if (status >= 400) {
        this.errorRequests++
        if (status >= 500) this.serverErrorRequests++
        this.errors.add(line.path(), line.errorMessage())
      }
    } else if (event >= SECURITY_EVENT_BASE && this.contains(line.timestampMs)) {
      this.securityCounts[event - SECURITY_EVENT_BASE] =
        (this.securityCounts[event - SECURITY_EVENT_BASE] as number) + 1
      this.timeline?.addSecurityEvent(line.timestampMs)
    }
  }

  /** A line dropped before it could be read (longer than the line limit). */
  addSkipped(): void {
    this.skippedLines++
  }

  toState(): LogStatsState {
    return {
      totalRequests: this.totalRequests,
      errorRequests: this.errorRequests,
      serverErrorRequests: this.serverErrorRequests,
      skippedLines: this.skippedLines,
      securityCounts: this.securityCounts.slice(),
      latency: this.latency.toState(),
      errors: this.errors.toState(),
      timeline: this.timeline?.toState() ?? null,
    }
  }

  /**
   * Adds the figures another LogStats (same options) counted from other lines: every figure is
   * then what one LogStats fed all the lines gives — counts and exact percentiles alike (see
   * LatencyRecorder.merge; the top errors past their capacity, see ErrorGroups.merge).
   */
  merge(state: LogStatsState): void {
    this.totalRequests += state.totalRequests
    this.errorRequests += state.errorRequests
    this.serverErrorRequests += state.serverErrorRequests
    this.skippedLines += state.skippedLines
    for (let i = 0; i < this.securityCounts.length; i++)
      this.securityCounts[i] = (this.securityCounts[i] as number) + (state.securityCounts[i] as number)
    this.latency.merge(state.latency)
    this.errors.merge(state.errors)
    if (state.timeline !== null) this.timeline?.merge(state.timeline)
  }

  /** The spread of the requests' durations, for the HTML report's histogram. */
  latencyDistribution(binCount: number): LatencyBin[] {
    return this.latency.distribution(binCount)
  }

  summary(): LogSummary {
    const total = this.totalRequests
    const securityEvents: Record<string, number> = {}
    SECURITY_EVENT_NAMES.forEach((name, i) => (securityEvents[name] = this.securityCounts[i] as number))
    return {
      totalRequests: total,
      errorRequests: this.errorRequests,
      serverErrorRequests: this.serverErrorRequests,
      errorRate: total === 0 ? 0 : this.errorRequests / total,
      serverErrorRate: total === 0 ? 0 : this.serverErrorRequests / total,
      latencyMs: this.latency.percentiles(),
      latencyExact: this.latency.isExact,
      topErrors: this.errors.top(this.options.topErrors),
      topErrorsMaxUndercount: this.errors.maxUndercount,
      securityEvents,
      skippedLines: this.skippedLines,
    }
  }
}
