import type { ErrorGroup } from '../error-groups.ts'
import { EVENT_ABSENT, EVENT_REQUEST_COMPLETE, SECURITY_EVENT_BASE, SECURITY_EVENT_NAMES } from '../events.ts'
import { LINE_BLANK, LINE_OBJECT, type LineFields } from '../fields.ts'
import { LatencyRecorder } from '../latency.ts'
import type { LogSummary } from '../stats.ts'
import type { TimeWindow } from '../window.ts'
import { SampleRing } from './sample-ring.ts'

/** 32 bytes a request: a million is 32 MB, over 3,000 requests a second for five minutes. */
export const DEFAULT_MAX_REQUESTS = 1_000_000
/** 16 bytes an event. */
export const DEFAULT_MAX_SECURITY_EVENTS = 1_000_000
/** The batch analyzer's error-group capacity (stats.ts), for the same `--top`. */
const MIN_ERROR_GROUPS = 10_000
/**
 * Paths and messages come from clients; a scanner probing long random paths must not fill
 * memory with them. Past this many UTF-16 units of keys (16 MB, as much again for the fields)
 * a new (path, message) pair is counted as an error without a group.
 */
const MAX_GROUP_TEXT_UNITS = 8 * 1024 * 1024

const REQUEST_DURATION = 0
const REQUEST_STATUS = 1
const REQUEST_GROUP = 2
const SECURITY_KIND = 0
const SKIPPED_COUNT = 0
const NO_GROUP = -1
const SECOND_MS = 1000

export interface RollingWindowOptions {
  windowMs: number
  topErrors: number
  /** Time as epoch ms: when a line is read (lines older than the window are not kept) and for skipped lines. */
  nowMs: () => number
  maxRequests?: number
  maxSecurityEvents?: number
  maxErrorGroups?: number
}

interface StoredGroup {
  path: string | null
  error: string | null
  key: string
  /** Samples held that belong to it: at 0 the group goes. */
  refs: number
}

/** LogSummary, plus what `--follow` tells a person about the window's own limits. */
export interface WindowSummary extends LogSummary {
  /** Requests or events of this window that were dropped because the window was full. */
  droppedForSpace: boolean
}

/**
 * The last `windowMs` of a followed log (CONTRACT §13): every usable request and security event
 * whose timestamp is not yet older than the window, so the figures are exact over it, and the
 * lines that could not be used, counted by the second they were read (they have no usable time
 * of their own). Memory follows the rate of lines times the window, and the sample rings put a
 * ceiling on it: past it the oldest samples go first, and the report says so.
 *
 * A line is usable under the batch analyzer's rules (stats.ts), which the tests hold both to.
 */
export class RollingWindow {
  private readonly requests: SampleRing
  private readonly securityEvents: SampleRing
  private readonly skipped: SampleRing
  private readonly groups: Array<StoredGroup | undefined> = []
  private readonly groupIds = new Map<string, number>()
  private readonly freeGroupIds: number[] = []
  private groupTextUnits = 0
  private lastDropMs = -Infinity
  private lastEvictMs = -Infinity
  private readonly options: RollingWindowOptions
  private readonly maxErrorGroups: number

  constructor(options: RollingWindowOptions) {
    this.options = options
    this.maxErrorGroups = options.maxErrorGroups ?? Math.max(MIN_ERROR_GROUPS, options.topErrors * 10)
    this.requests = new SampleRing(3, options.maxRequests ?? DEFAULT_MAX_REQUESTS, (ring, slot) =>
      this.release(ring.valueAt(slot, REQUEST_GROUP)),
    )
    this.securityEvents = new SampleRing(1, options.maxSecurityEvents ?? DEFAULT_MAX_SECURITY_EVENTS)
    // One entry a second: a window of days still fits, and older seconds fall out first.
    this.skipped = new SampleRing(1, Math.max(1, Math.ceil(options.windowMs / SECOND_MS) + 2))
  }

  /** Samples held now (requests and security events), which is what memory follows. */
  get retainedSamples(): number {
    return this.requests.size + this.securityEvents.size
  }

  /** Slots allocated for them. */
  get allocatedSamples(): number {
    return this.requests.capacity + this.securityEvents.capacity
  }

  get retainedErrorGroups(): number {
    return this.groupIds.size
  }

  /** A scanned line; the scanner's fields are read here and not kept. */
  addLine(line: LineFields): void {
    if (line.shape !== LINE_OBJECT) {
      if (line.shape !== LINE_BLANK) this.addSkipped()
      return
    }
    const event = line.event
    const timestampMs = line.timestampMs
    if (event === EVENT_ABSENT || Number.isNaN(timestampMs)) {
      this.addSkipped()
      return
    }
    if (event === EVENT_REQUEST_COMPLETE) {
      const status = line.statusCode
      const durationMs = line.durationMs
      if (!Number.isInteger(status) || !(durationMs >= 0 && durationMs < Infinity)) {
        this.addSkipped()
        return
      }
      const nowMs = this.options.nowMs()
      if (timestampMs < nowMs - this.options.windowMs) return
      const group = status >= 400 ? this.intern(line.path(), line.errorMessage()) : NO_GROUP
      if (this.requests.push(timestampMs, durationMs, status, group)) this.lastDropMs = nowMs
    } else if (event >= SECURITY_EVENT_BASE) {
      const nowMs = this.options.nowMs()
      if (timestampMs < nowMs - this.options.windowMs) return
      if (this.securityEvents.push(timestampMs, event - SECURITY_EVENT_BASE)) this.lastDropMs = nowMs
    }
  }

  /** A line that could not be used (not JSON, fields missing, over the length limit). */
  addSkipped(): void {
    const second = Math.floor(this.options.nowMs() / SECOND_MS) * SECOND_MS
    if (this.skipped.newestTimestamp() === second) this.skipped.addToNewest(SKIPPED_COUNT, 1)
    else this.skipped.push(second, 1)
  }

  /** Drops what has left the window `[now − windowMs, now]`; summary() does it too. */
  evict(nowMs: number): void {
    this.lastEvictMs = nowMs
    const fromMs = nowMs - this.options.windowMs
    const inWindow = (ring: SampleRing) => (slot: number) => ring.timestampAt(slot) >= fromMs
    this.requests.retain(inWindow(this.requests))
    this.securityEvents.retain(inWindow(this.securityEvents))
    // A second that began before `from` still holds lines read after it: kept until it is all out.
    this.skipped.retain((slot) => this.skipped.timestampAt(slot) + SECOND_MS > fromMs)
  }

  /** The figures of `[now − windowMs, now]`, both ends inclusive as in the batch analyzer. */
  summary(nowMs: number): { summary: WindowSummary; window: TimeWindow } {
    this.evict(nowMs)
    const fromMs = nowMs - this.options.windowMs
    const inWindow = (ms: number) => ms >= fromMs && ms <= nowMs
    const latency = new LatencyRecorder()
    let total = 0
    let errors = 0
    let serverErrors = 0
    let ungroupedErrors = 0
    const groupCounts = new Map<number, number>()
    this.requests.forEach((slot) => {
      if (!inWindow(this.requests.timestampAt(slot))) return
      total++
      latency.record(this.requests.valueAt(slot, REQUEST_DURATION))
      const status = this.requests.valueAt(slot, REQUEST_STATUS)
      if (status < 400) return
      errors++
      if (status >= 500) serverErrors++
      const group = this.requests.valueAt(slot, REQUEST_GROUP)
      if (group === NO_GROUP) ungroupedErrors++
      else groupCounts.set(group, (groupCounts.get(group) ?? 0) + 1)
    })
    const securityCounts = new Array<number>(SECURITY_EVENT_NAMES.length).fill(0)
    this.securityEvents.forEach((slot) => {
      if (!inWindow(this.securityEvents.timestampAt(slot))) return
      const kind = this.securityEvents.valueAt(slot, SECURITY_KIND)
      securityCounts[kind] = (securityCounts[kind] as number) + 1
    })
    let skippedLines = 0
    this.skipped.forEach((slot) => (skippedLines += this.skipped.valueAt(slot, SKIPPED_COUNT)))
    const securityEvents: Record<string, number> = {}
    SECURITY_EVENT_NAMES.forEach((name, i) => (securityEvents[name] = securityCounts[i] as number))
    const summary: WindowSummary = {
      totalRequests: total,
      errorRequests: errors,
      serverErrorRequests: serverErrors,
      errorRate: total === 0 ? 0 : errors / total,
      serverErrorRate: total === 0 ? 0 : serverErrors / total,
      latencyMs: latency.percentiles(),
      latencyExact: latency.isExact,
      topErrors: this.topErrors(groupCounts),
      // An error without a group could belong to any pair not listed: none is low by more.
      topErrorsMaxUndercount: ungroupedErrors,
      securityEvents,
      skippedLines,
      droppedForSpace: this.lastDropMs >= fromMs,
    }
    return { summary, window: { fromMs, toMs: nowMs } }
  }

  /** The batch analyzer's order (error-groups.ts): most frequent first, then path, then message, null first. */
  private topErrors(counts: Map<number, number>): ErrorGroup[] {
    const listed: ErrorGroup[] = []
    for (const [id, count] of counts) {
      const group = this.groups[id] as StoredGroup
      listed.push({ path: group.path, error: group.error, count })
    }
    return listed
      .sort((a, b) => b.count - a.count || compareNullable(a.path, b.path) || compareNullable(a.error, b.error))
      .slice(0, this.options.topErrors)
  }

  private intern(path: string | null, error: string | null): number {
    // JSON of the pair keeps null apart from "null" and cannot run the two fields together.
    const key = JSON.stringify([path, error])
    const known = this.groupIds.get(key)
    if (known !== undefined) {
      ;(this.groups[known] as StoredGroup).refs++
      return known
    }
    if (!this.roomForGroup(key)) {
      // Groups are released as their requests leave the window: make that happen now, at most once a second.
      const nowMs = this.options.nowMs()
      if (nowMs - this.lastEvictMs < SECOND_MS) return NO_GROUP
      this.evict(nowMs)
      if (!this.roomForGroup(key)) return NO_GROUP
    }
    const id = this.freeGroupIds.pop() ?? this.groups.length
    this.groups[id] = { path, error, key, refs: 1 }
    this.groupIds.set(key, id)
    this.groupTextUnits += key.length
    return id
  }

  private roomForGroup(key: string): boolean {
    return this.groupIds.size < this.maxErrorGroups && this.groupTextUnits + key.length <= MAX_GROUP_TEXT_UNITS
  }

  private release(id: number): void {
    if (id === NO_GROUP) return
    const group = this.groups[id] as StoredGroup
    if (--group.refs > 0) return
    this.groups[id] = undefined
    this.groupIds.delete(group.key)
    this.freeGroupIds.push(id)
    this.groupTextUnits -= group.key.length
  }
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0
  if (a === null) return -1
  if (b === null) return 1
  return a < b ? -1 : 1
}
