/**
 * Log timestamps → milliseconds since the epoch, without Date.parse: V8's parser accepts
 * impossible dates (February 31st rolls into March) and reads zone-less times as local time,
 * so a window would depend on the machine's TZ. Here the rules are ours and fixed:
 * `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, the fraction truncated to milliseconds.
 */

const DAY_MS = 86_400_000
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0)
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const shiftedMonth = month > 2 ? month - 3 : month + 9
  const dayOfYear = Math.floor((153 * shiftedMonth + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

/** UTC fields → epoch ms, or NaN when a field is out of range (no rolling over). */
export function epochMsFromUtcFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
): number {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN
  if (hour > 23 || minute > 59 || second > 59) return NaN
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + millis
}

const LOG_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/

/** A log line's `timestamp` → epoch ms, or NaN when it is not an ISO 8601 instant with a zone. */
export function parseLogTimestampMs(text: string): number {
  const m = LOG_TIMESTAMP.exec(text)
  if (m === null) return NaN
  const fraction = m[7] ?? ''
  const millis = fraction === '' ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'))
  const utcMs = epochMsFromUtcFields(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    millis,
  )
  if (m[8] === 'Z') return utcMs
  const offsetHours = Number(m[10])
  const offsetMinutes = Number(m[11])
  if (offsetHours > 23 || offsetMinutes > 59) return NaN
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000
  return m[9] === '-' ? utcMs + offsetMs : utcMs - offsetMs
}

const DIGIT_0 = 0x30

function digitAt(bytes: Uint8Array, i: number): number {
  const d = (bytes[i] ?? 0) - DIGIT_0
  return d >= 0 && d <= 9 ? d : -1000_000
}

/**
 * The logger's own form, `2026-11-23T10:15:30.123Z` (24 bytes), read straight from the line's
 * bytes: this runs once per line, so no string is made. NaN when the bytes are in any other
 * form; the caller then decodes the string and uses parseLogTimestampMs, which gives the same
 * answer for this form (the tests hold both to it).
 */
export function canonicalTimestampMsFromBytes(bytes: Uint8Array, start: number): number {
  if (
    bytes[start + 4] !== 0x2d ||
    bytes[start + 7] !== 0x2d ||
    bytes[start + 10] !== 0x54 ||
    bytes[start + 13] !== 0x3a ||
    bytes[start + 16] !== 0x3a ||
    bytes[start + 19] !== 0x2e ||
    bytes[start + 23] !== 0x5a
  ) {
    return NaN
  }
  const year =
    digitAt(bytes, start) * 1000 +
    digitAt(bytes, start + 1) * 100 +
    digitAt(bytes, start + 2) * 10 +
    digitAt(bytes, start + 3)
  const month = digitAt(bytes, start + 5) * 10 + digitAt(bytes, start + 6)
  const day = digitAt(bytes, start + 8) * 10 + digitAt(bytes, start + 9)
  const hour = digitAt(bytes, start + 11) * 10 + digitAt(bytes, start + 12)
  const minute = digitAt(bytes, start + 14) * 10 + digitAt(bytes, start + 15)
  const second = digitAt(bytes, start + 17) * 10 + digitAt(bytes, start + 18)
  const millis = digitAt(bytes, start + 20) * 100 + digitAt(bytes, start + 21) * 10 + digitAt(bytes, start + 22)
  // A non-digit anywhere makes its field hugely negative, and so the sum below zero.
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || millis < 0) return NaN
  return epochMsFromUtcFields(year, month, day, hour, minute, second, millis)
}
