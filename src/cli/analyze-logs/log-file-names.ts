/**
 * Which names in a directory are log files, and in which order they hold their lines.
 *
 * Recognised (each also with `.jsonl` or `.ndjson` for `.log`, and each optionally `.gz`):
 * - live:     `lectern.log`
 * - Lectern's own rotation (LOG_FILE): `lectern.2026-11-23.log`, `lectern.2026-11-23.1.log`
 * - logrotate, numbered: `lectern.log.1`, `lectern.log.2.gz` (1 is the newest)
 * - logrotate, `dateext`: `lectern.log-20261123`, hourly `lectern.log-2026112310`
 * - dated suffix (Python's TimedRotatingFileHandler and others): `lectern.log.2026-11-23`,
 *   `lectern.log.2026-11-23_10`, `_10-15`, `_10-15-30`
 *
 * Anything else is not taken: `lectern.log.bak`, `lectern.log.swp`, `lectern.log.1.bak`,
 * `lectern.log.gz.tmp`, `notes.txt`. An editor's backup or a half-written copy is not a log,
 * and reading it would count its lines twice.
 */

export type LogFileName =
  /** Rotated, holding lines of a known time: `sortKey` is `YYYY-MM-DDTHH:MM:SS`. */
  | { kind: 'dated'; sortKey: string; attempt: number }
  /** Rotated by number: a larger number is older, and every one is newer than any dated file. */
  | { kind: 'numbered'; number: number }
  /** The file being written now. */
  | { kind: 'live' }

const EXTENSION = '(?:log|jsonl|ndjson)'
const GZ = '(?:\\.gz)?'
/** Numbers past this are not a rotation count but something else (a timestamp, say). */
const MAX_ROTATION_NUMBER = 100_000

const LECTERN_ROTATED = new RegExp(`^(?:.*\\D)?(\\d{4})-(\\d{2})-(\\d{2})(?:\\.(\\d{1,6}))?\\.${EXTENSION}${GZ}$`)
const LIVE = new RegExp(`^.+\\.${EXTENSION}${GZ}$`)
const NUMBERED = new RegExp(`^.+\\.${EXTENSION}\\.(\\d{1,6})${GZ}$`)
const DATEEXT = new RegExp(`^.+\\.${EXTENSION}-(\\d{4})(\\d{2})(\\d{2})(\\d{2})?${GZ}$`)
const DATED_SUFFIX = new RegExp(
  `^.+\\.${EXTENSION}\\.(\\d{4})-(\\d{2})-(\\d{2})(?:_(\\d{2})(?:-(\\d{2})(?:-(\\d{2}))?)?)?${GZ}$`,
)

/** A directory entry's name → what kind of log file it is, or null when it is not one. */
export function classifyLogFileName(name: string): LogFileName | null {
  let m = LECTERN_ROTATED.exec(name)
  if (m !== null) return dated(m[1], m[2], m[3], undefined, undefined, undefined, Number(m[4] ?? 0))
  if (LIVE.test(name)) return { kind: 'live' }
  m = NUMBERED.exec(name)
  if (m !== null) {
    const number = Number(m[1])
    return number <= MAX_ROTATION_NUMBER ? { kind: 'numbered', number } : null
  }
  m = DATEEXT.exec(name)
  if (m !== null) return dated(m[1], m[2], m[3], m[4])
  m = DATED_SUFFIX.exec(name)
  if (m !== null) return dated(m[1], m[2], m[3], m[4], m[5], m[6])
  return null
}

function dated(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour = '00',
  minute = '00',
  second = '00',
  attempt = 0,
): LogFileName | null {
  const [mo, d, h, mi, s] = [month, day, hour, minute, second].map(Number) as [number, number, number, number, number]
  // A date that cannot be (month 13, hour 25) is not one of ours: refuse rather than misplace it.
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null
  return { kind: 'dated', sortKey: `${year}-${month}-${day}T${hour}:${minute}:${second}`, attempt }
}

const KIND_ORDER = { dated: 0, numbered: 1, live: 2 } as const
const UNCLASSIFIED: LogFileName = { kind: 'live' }

/**
 * Oldest lines first: dated files by their time (then Lectern's rotation attempt), then
 * numbered ones from the highest number down, then the live files. Ties by name, so the order
 * never depends on the directory listing. A name this module does not take (a caller with
 * rules of its own) sorts with the live files, by name.
 */
export function compareLogFileNames(a: string, b: string): number {
  const x = classifyLogFileName(a) ?? UNCLASSIFIED
  const y = classifyLogFileName(b) ?? UNCLASSIFIED
  if (x.kind !== y.kind) return KIND_ORDER[x.kind] - KIND_ORDER[y.kind]
  if (x.kind === 'dated' && y.kind === 'dated') {
    if (x.sortKey !== y.sortKey) return x.sortKey < y.sortKey ? -1 : 1
    if (x.attempt !== y.attempt) return x.attempt - y.attempt
  }
  if (x.kind === 'numbered' && y.kind === 'numbered' && x.number !== y.number) return y.number - x.number
  return a < b ? -1 : a > b ? 1 : 0
}
