import { EVENT_ABSENT, EVENT_OTHER, countedEventBytesByLength, eventKindOf, type EventNameBytes } from './events.ts'
import { LINE_BLANK, LINE_NOT_AN_OBJECT, LINE_OBJECT, ParsedLineFields, type LineFields } from './fields.ts'
import { canonicalTimestampMsFromBytes, parseLogTimestampMs } from './timestamp.ts'

/*
 * The analyzer's hot loop: one pass over a line's bytes that checks the whole line is a JSON
 * object (so `skipped_lines` is exact) and keeps only where the wanted top-level fields are.
 * JSON.parse would build a whole object per line (and a string per line before it), which is
 * most of the cost of reading a million lines; here no string is made unless a value is read.
 *
 * It accepts exactly what JSON.parse accepts; where that is costly to get right by hand
 * (escaped keys, deep nesting) it hands the line to JSON.parse instead. Last duplicate key
 * wins, as in JSON.parse. The tests compare both readings on tricky and on mutated lines.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const NEWLINE = 0x0a

/** Returned instead of an index: the line is not JSON. */
const INVALID = -1
/** Returned instead of an index: let JSON.parse read this line. */
const USE_JSON_PARSE = -2

/** Containers nested deeper than this go to JSON.parse, so the scanner's recursion stays shallow. */
const MAX_NESTING = 64

const KEY_OTHER = 0
const KEY_TIMESTAMP = 1
const KEY_EVENT = 2
const KEY_STATUS_CODE = 3
const KEY_DURATION_MS = 4
const KEY_PATH = 5
const KEY_ERROR = 6

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))
const TIMESTAMP = ascii('timestamp')
const EVENT = ascii('event')
const ERROR = ascii('error')
const STATUS_CODE = ascii('status_code')
const DURATION_MS = ascii('duration_ms')
const PATH = ascii('path')
const MESSAGE = ascii('message')
const TRUE = ascii('true')
const FALSE = ascii('false')
const NULL = ascii('null')

/** 1 for the bytes that end a run of plain string bytes: quote, backslash, control bytes. */
const STRING_STOP = new Uint8Array(256).map((_, b) => (b === QUOTE || b === BACKSLASH || b < 0x20 ? 1 : 0))

/** 10^0 … 10^22: the powers of ten a double holds exactly. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`))
/** An integer of up to 15 digits is exact in a double, so mantissa / 10^k is rounded once, as Number() rounds. */
const MAX_EXACT_DIGITS = 15

function bytesEqual(buf: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  const length = expected.length
  if (end - start !== length) return false
  // The last byte first: names of one length often share their start ("request_received",
  // "request_complete"), and a mismatch found at once is most of this function's calls.
  if (buf[end - 1] !== expected[length - 1]) return false
  for (let i = 0; i < length - 1; i++) if (buf[start + i] !== expected[i]) return false
  return true
}

function skipWhitespace(buf: Uint8Array, i: number): number {
  let b = buf[i]
  while (b === 0x20 || b === 0x09 || b === 0x0d) b = buf[++i]
  return i
}

function isHexDigit(b: number | undefined): boolean {
  return b !== undefined && ((b >= DIGIT_0 && b <= DIGIT_9) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66))
}

function topLevelKey(buf: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 9:
      return bytesEqual(buf, start, end, TIMESTAMP) ? KEY_TIMESTAMP : KEY_OTHER
    case 5:
      if (bytesEqual(buf, start, end, EVENT)) return KEY_EVENT
      return bytesEqual(buf, start, end, ERROR) ? KEY_ERROR : KEY_OTHER
    case 11:
      if (bytesEqual(buf, start, end, STATUS_CODE)) return KEY_STATUS_CODE
      return bytesEqual(buf, start, end, DURATION_MS) ? KEY_DURATION_MS : KEY_OTHER
    case 4:
      return bytesEqual(buf, start, end, PATH) ? KEY_PATH : KEY_OTHER
    default:
      return KEY_OTHER
  }
}

/**
 * Reads log lines from bytes. One instance is reused for every line (no allocation per line);
 * after scan() its fields describe the line just scanned.
 *
 * A line holds no newline byte, and its bytes must be followed by one (`buf[end] === 0x0a`):
 * every token check then fails at the end of the line without a bounds check. LineSplitter
 * guarantees it; scan() copies a line that lacks it.
 */
export class LogLineScanner implements LineFields {
  shape = LINE_BLANK
  timestampMs = NaN
  event = EVENT_ABSENT
  statusCode = NaN
  durationMs = NaN

  private buf: Buffer = Buffer.alloc(0)
  private timestampStart = -1
  private timestampEnd = -1
  private timestampEscaped = false
  private eventStart = -1
  private eventEnd = -1
  private eventEscaped = false
  private pathStart = -1
  private pathEnd = -1
  private pathEscaped = false
  private messageStart = -1
  private messageEnd = -1
  private messageEscaped = false
  /** Set by scanString: whether the string just scanned holds a backslash escape. */
  private lastStringEscaped = false
  /** Set when the line was read by JSON.parse instead. */
  private parsed: ParsedLineFields | null = null
  private readonly fallback = new ParsedLineFields()
  private readonly eventsByLength = countedEventBytesByLength()

  scan(buf: Buffer, start: number, end: number): this {
    if (buf[end] !== NEWLINE) {
      // Only callers other than LineSplitter get here: give the line its terminating newline.
      const copy = Buffer.allocUnsafe(end - start + 1)
      buf.copy(copy, 0, start, end)
      copy[end - start] = NEWLINE
      return this.scan(copy, 0, end - start)
    }
    this.reset(buf)
    let i = skipWhitespace(buf, start)
    if (i === end) return this
    if (buf[i] !== OPEN_BRACE) return this.notAnObject()
    i = this.scanTopLevelObject(buf, i + 1)
    if (i >= 0) i = skipWhitespace(buf, i)
    if (i === USE_JSON_PARSE) return this.readWithJsonParse(buf, start, end)
    if (i !== end) return this.notAnObject()
    this.shape = LINE_OBJECT
    this.timestampMs = this.readTimestampMs(buf)
    this.event = this.readEventKind(buf)
    return this
  }

  path(): string | null {
    if (this.parsed !== null) return this.parsed.path()
    return this.decodeString(this.pathStart, this.pathEnd, this.pathEscaped)
  }

  errorMessage(): string | null {
    if (this.parsed !== null) return this.parsed.errorMessage()
    return this.decodeString(this.messageStart, this.messageEnd, this.messageEscaped)
  }

  private reset(buf: Buffer): void {
    this.buf = buf
    this.shape = LINE_BLANK
    this.timestampMs = NaN
    this.event = EVENT_ABSENT
    this.statusCode = NaN
    this.durationMs = NaN
    this.timestampStart = -1
    this.eventStart = -1
    this.pathStart = -1
    this.messageStart = -1
    this.parsed = null
  }

  private notAnObject(): this {
    this.reset(this.buf)
    this.shape = LINE_NOT_AN_OBJECT
    return this
  }

  private readWithJsonParse(buf: Buffer, start: number, end: number): this {
    const parsed = this.fallback.read(buf.toString('utf8', start, end))
    this.reset(buf)
    this.parsed = parsed
    this.shape = parsed.shape
    this.timestampMs = parsed.timestampMs
    this.event = parsed.event
    this.statusCode = parsed.statusCode
    this.durationMs = parsed.durationMs
    return this
  }

  private decodeString(start: number, end: number, escaped: boolean): string | null {
    if (start < 0) return null
    // With escapes, the quoted literal itself is valid JSON (the scan checked it): let JSON.parse unescape it.
    return escaped
      ? (JSON.parse(this.buf.toString('utf8', start - 1, end + 1)) as string)
      : this.buf.toString('utf8', start, end)
  }

  private readTimestampMs(buf: Buffer): number {
    if (this.timestampStart < 0) return NaN
    if (!this.timestampEscaped && this.timestampEnd - this.timestampStart === 24) {
      const ms = canonicalTimestampMsFromBytes(buf, this.timestampStart)
      if (!Number.isNaN(ms)) return ms
    }
    return parseLogTimestampMs(this.decodeString(this.timestampStart, this.timestampEnd, this.timestampEscaped) ?? '')
  }

  private readEventKind(buf: Buffer): number {
    const start = this.eventStart
    if (start < 0) return EVENT_ABSENT
    const end = this.eventEnd
    if (this.eventEscaped) return eventKindOf(this.decodeString(start, end, true) ?? '')
    const candidates = this.eventsByLength[end - start]
    if (candidates === undefined) return EVENT_OTHER
    for (let c = 0; c < candidates.length; c++) {
      const candidate = candidates[c] as EventNameBytes
      if (bytesEqual(buf, start, end, candidate.bytes)) return candidate.kind
    }
    return EVENT_OTHER
  }

  /** From just after the opening brace; returns the index after the closing brace, INVALID or USE_JSON_PARSE. */
  private scanTopLevelObject(buf: Buffer, i: number): number {
    i = skipWhitespace(buf, i)
    if (buf[i] === CLOSE_BRACE) return i + 1
    for (;;) {
      if (buf[i] !== QUOTE) return INVALID
      const keyStart = i + 1
      i = this.scanString(buf, i)
      if (i < 0) return i
      // An escaped key may spell a wanted name (`"ev\u0065nt"`); rare enough to leave to JSON.parse.
      if (this.lastStringEscaped) return USE_JSON_PARSE
      const key = topLevelKey(buf, keyStart, i - 1)
      i = skipWhitespace(buf, i)
      if (buf[i] !== COLON) return INVALID
      i = skipWhitespace(buf, i + 1)
      i = this.scanTopLevelValue(buf, i, key)
      if (i < 0) return i
      i = skipWhitespace(buf, i)
      const b = buf[i]
      if (b === COMMA) i = skipWhitespace(buf, i + 1)
      else if (b === CLOSE_BRACE) return i + 1
      else return INVALID
    }
  }

  private scanTopLevelValue(buf: Buffer, i: number, key: number): number {
    const b = buf[i]
    switch (key) {
      case KEY_TIMESTAMP:
        this.timestampStart = -1
        if (b !== QUOTE) break
        this.timestampStart = i + 1
        i = this.scanString(buf, i)
        this.timestampEnd = i - 1
        this.timestampEscaped = this.lastStringEscaped
        return i
      case KEY_EVENT:
        this.eventStart = -1
        if (b !== QUOTE) break
        this.eventStart = i + 1
        i = this.scanString(buf, i)
        this.eventEnd = i - 1
        this.eventEscaped = this.lastStringEscaped
        return i
      case KEY_PATH:
        this.pathStart = -1
        if (b !== QUOTE) break
        this.pathStart = i + 1
        i = this.scanString(buf, i)
        this.pathEnd = i - 1
        this.pathEscaped = this.lastStringEscaped
        return i
      case KEY_STATUS_CODE:
      case KEY_DURATION_MS: {
        if (b !== MINUS && (b === undefined || b < DIGIT_0 || b > DIGIT_9)) {
          if (key === KEY_STATUS_CODE) this.statusCode = NaN
          else this.durationMs = NaN
          break
        }
        const end = scanNumber(buf, i)
        if (end < 0) return end
        const value = numberValue(buf, i, end)
        if (key === KEY_STATUS_CODE) this.statusCode = value
        else this.durationMs = value
        return end
      }
      case KEY_ERROR:
        this.messageStart = -1
        if (b === OPEN_BRACE) return this.scanErrorObject(buf, i + 1)
        break
    }
    return this.skipValue(buf, i, 1)
  }

  /** `error`'s object (nesting depth 2): keeps where a string `message` is, skips the rest. */
  private scanErrorObject(buf: Buffer, i: number): number {
    i = skipWhitespace(buf, i)
    if (buf[i] === CLOSE_BRACE) return i + 1
    for (;;) {
      if (buf[i] !== QUOTE) return INVALID
      const keyStart = i + 1
      i = this.scanString(buf, i)
      if (i < 0) return i
      if (this.lastStringEscaped) return USE_JSON_PARSE
      const isMessage = bytesEqual(buf, keyStart, i - 1, MESSAGE)
      i = skipWhitespace(buf, i)
      if (buf[i] !== COLON) return INVALID
      i = skipWhitespace(buf, i + 1)
      if (isMessage) this.messageStart = -1
      if (isMessage && buf[i] === QUOTE) {
        this.messageStart = i + 1
        i = this.scanString(buf, i)
        this.messageEnd = i - 1
        this.messageEscaped = this.lastStringEscaped
      } else {
        i = this.skipValue(buf, i, 2)
      }
      if (i < 0) return i
      i = skipWhitespace(buf, i)
      const b = buf[i]
      if (b === COMMA) i = skipWhitespace(buf, i + 1)
      else if (b === CLOSE_BRACE) return i + 1
      else return INVALID
    }
  }

  /** Any JSON value at nesting `depth` (the object holding it); returns the index after it. */
  private skipValue(buf: Buffer, i: number, depth: number): number {
    const b = buf[i]
    if (b === QUOTE) return this.scanString(buf, i)
    if (b === MINUS || (b !== undefined && b >= DIGIT_0 && b <= DIGIT_9)) return scanNumber(buf, i)
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (depth >= MAX_NESTING) return USE_JSON_PARSE
      return b === OPEN_BRACE ? this.skipObject(buf, i + 1, depth + 1) : this.skipArray(buf, i + 1, depth + 1)
    }
    if (b === 0x74) return bytesEqual(buf, i, i + 4, TRUE) ? i + 4 : INVALID
    if (b === 0x66) return bytesEqual(buf, i, i + 5, FALSE) ? i + 5 : INVALID
    if (b === 0x6e) return bytesEqual(buf, i, i + 4, NULL) ? i + 4 : INVALID
    return INVALID
  }

  private skipObject(buf: Buffer, i: number, depth: number): number {
    i = skipWhitespace(buf, i)
    if (buf[i] === CLOSE_BRACE) return i + 1
    for (;;) {
      if (buf[i] !== QUOTE) return INVALID
      i = this.scanString(buf, i)
      if (i < 0) return i
      i = skipWhitespace(buf, i)
      if (buf[i] !== COLON) return INVALID
      i = this.skipValue(buf, skipWhitespace(buf, i + 1), depth)
      if (i < 0) return i
      i = skipWhitespace(buf, i)
      const b = buf[i]
      if (b === COMMA) i = skipWhitespace(buf, i + 1)
      else if (b === CLOSE_BRACE) return i + 1
      else return INVALID
    }
  }

  private skipArray(buf: Buffer, i: number, depth: number): number {
    i = skipWhitespace(buf, i)
    if (buf[i] === CLOSE_BRACKET) return i + 1
    for (;;) {
      i = this.skipValue(buf, i, depth)
      if (i < 0) return i
      i = skipWhitespace(buf, i)
      const b = buf[i]
      if (b === COMMA) i = skipWhitespace(buf, i + 1)
      else if (b === CLOSE_BRACKET) return i + 1
      else return INVALID
    }
  }

  /**
   * From the opening quote; returns the index after the closing quote. Raw control bytes are
   * invalid in JSON strings (this is also what stops a scan at the line's newline); bytes
   * from 0x80 up are taken as they are, as JSON.parse takes whatever UTF-8 decoding gives.
   */
  private scanString(buf: Buffer, i: number): number {
    let escaped = false
    i++
    for (;;) {
      // Most bytes are plain: one table load each, four to a round. Past the array, the table
      // gives undefined and stops too (a line always ends with a newline, which stops it first).
      for (;;) {
        if (STRING_STOP[buf[i] as number] !== 0) break
        if (STRING_STOP[buf[i + 1] as number] !== 0) {
          i += 1
          break
        }
        if (STRING_STOP[buf[i + 2] as number] !== 0) {
          i += 2
          break
        }
        if (STRING_STOP[buf[i + 3] as number] !== 0) {
          i += 3
          break
        }
        i += 4
      }
      const b = buf[i]
      if (b === QUOTE) break
      if (b !== BACKSLASH) return INVALID // a control byte (the line's newline among them)
      escaped = true
      const e = buf[i + 1]
      if (e === 0x75) {
        if (!isHexDigit(buf[i + 2]) || !isHexDigit(buf[i + 3]) || !isHexDigit(buf[i + 4]) || !isHexDigit(buf[i + 5]))
          return INVALID
        i += 6
      } else if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2
      } else {
        return INVALID
      }
    }
    this.lastStringEscaped = escaped
    return i + 1
  }
}

/** `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` from i; returns the index after it or INVALID. */
function scanNumber(buf: Uint8Array, i: number): number {
  if (buf[i] === MINUS) i++
  let b = buf[i]
  if (b === DIGIT_0) {
    b = buf[++i]
  } else if (b !== undefined && b > DIGIT_0 && b <= DIGIT_9) {
    do b = buf[++i]
    while (b !== undefined && b >= DIGIT_0 && b <= DIGIT_9)
  } else {
    return INVALID
  }
  if (b === DOT) {
    b = buf[++i]
    if (b === undefined || b < DIGIT_0 || b > DIGIT_9) return INVALID
    do b = buf[++i]
    while (b !== undefined && b >= DIGIT_0 && b <= DIGIT_9)
  }
  if (b === 0x65 || b === 0x45) {
    b = buf[++i]
    if (b === PLUS || b === MINUS) b = buf[++i]
    if (b === undefined || b < DIGIT_0 || b > DIGIT_9) return INVALID
    do b = buf[++i]
    while (b !== undefined && b >= DIGIT_0 && b <= DIGIT_9)
  }
  return i
}

/** The value of a number scan() has checked, equal to what JSON.parse gives. */
function numberValue(buf: Buffer, start: number, end: number): number {
  let i = start
  const negative = buf[i] === MINUS
  if (negative) i++
  let mantissa = 0
  let digits = 0
  let fractionDigits = 0
  let inFraction = false
  for (; i < end; i++) {
    const b = buf[i] as number
    if (b === DOT) {
      inFraction = true
      continue
    }
    if (b < DIGIT_0 || b > DIGIT_9) return Number(buf.toString('latin1', start, end)) // an exponent
    mantissa = mantissa * 10 + (b - DIGIT_0)
    if (mantissa !== 0) digits++
    if (inFraction) fractionDigits++
  }
  if (digits > MAX_EXACT_DIGITS || fractionDigits >= EXACT_POWERS_OF_TEN.length)
    return Number(buf.toString('latin1', start, end))
  const magnitude = mantissa / (EXACT_POWERS_OF_TEN[fractionDigits] as number)
  return negative ? -magnitude : magnitude
}
