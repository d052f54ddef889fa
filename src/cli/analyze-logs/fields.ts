import { EVENT_ABSENT, eventKindOf } from './events.ts'
import { parseLogTimestampMs } from './timestamp.ts'

/** What a line turned out to be. Blank lines (JSON whitespace only) are neither used nor counted as skipped. */
export const LINE_BLANK = 0
export const LINE_NOT_AN_OBJECT = 1
export const LINE_OBJECT = 2

/**
 * The few fields of a log line the analyzer reads. Strings that are rarely needed (path and
 * error message, read only for errors) are methods, so the fast reader can decode them
 * on demand instead of for every line.
 */
export interface LineFields {
  shape: number
  /** NaN when `timestamp` is absent, not a string, or not an instant (see timestamp.ts). */
  timestampMs: number
  /** An event kind of events.ts. */
  event: number
  /** NaN when absent or not a JSON number. */
  statusCode: number
  /** NaN when absent or not a JSON number. */
  durationMs: number
  path(): string | null
  /** `error.message` when `error` is an object whose `message` is a string. */
  errorMessage(): string | null
}

/**
 * The reference reading of a line: JSON.parse, then plain property reads. The fast reader
 * (line-scanner.ts) falls back to this for lines it does not handle itself, and the tests
 * hold it to the same answers on every kind of line.
 */
export class ParsedLineFields implements LineFields {
  shape = LINE_BLANK
  timestampMs = NaN
  event = EVENT_ABSENT
  statusCode = NaN
  durationMs = NaN
  private pathValue: string | null = null
  private messageValue: string | null = null

  read(line: string): this {
    this.reset()
    if (isJsonWhitespaceOnly(line)) return this
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      this.shape = LINE_NOT_AN_OBJECT
      return this
    }
    return this.readParsed(value)
  }

  readParsed(value: unknown): this {
    this.reset()
    if (!isPlainObject(value)) {
      this.shape = LINE_NOT_AN_OBJECT
      return this
    }
    this.shape = LINE_OBJECT
    const { timestamp, event, status_code: statusCode, duration_ms: durationMs, path, error } = value
    this.timestampMs = typeof timestamp === 'string' ? parseLogTimestampMs(timestamp) : NaN
    this.event = typeof event === 'string' ? eventKindOf(event) : EVENT_ABSENT
    this.statusCode = typeof statusCode === 'number' ? statusCode : NaN
    this.durationMs = typeof durationMs === 'number' ? durationMs : NaN
    this.pathValue = typeof path === 'string' ? path : null
    this.messageValue = isPlainObject(error) && typeof error.message === 'string' ? error.message : null
    return this
  }

  path(): string | null {
    return this.pathValue
  }

  errorMessage(): string | null {
    return this.messageValue
  }

  private reset(): void {
    this.shape = LINE_BLANK
    this.timestampMs = NaN
    this.event = EVENT_ABSENT
    this.statusCode = NaN
    this.durationMs = NaN
    this.pathValue = null
    this.messageValue = null
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** JSON's whitespace is space, tab, CR and LF; JavaScript's trim() would take more (NBSP, …). */
export function isJsonWhitespaceOnly(line: string): boolean {
  return /^[ \t\r\n]*$/.test(line)
}
