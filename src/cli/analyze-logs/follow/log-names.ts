/**
 * Which files of a followed directory are logs, and which of them are live (still written) rather
 * than rotated. Rotated names: Lectern's own (`lectern.2026-11-23.log`, `lectern.2026-11-23.1.log`,
 * src/logging/file-sink.ts) and logrotate's (`lectern.log.1`, `lectern.log.2.gz`,
 * `lectern.log-20261123`, `lectern.log.2026-11-23`), each optionally `.gz`.
 */

const EXTENSION = String.raw`\.(?:log|jsonl|ndjson)`
const LOGROTATE_SUFFIX = String.raw`(?:\.\d+|-\d{8,10}|\.\d{4}-\d{2}-\d{2})`
const LOG_NAME = new RegExp(`${EXTENSION}${LOGROTATE_SUFFIX}?(?:\\.gz)?$`)
const LIVE_NAME = new RegExp(`${EXTENSION}$`)
const LECTERN_ROTATED = new RegExp(String.raw`\.\d{4}-\d{2}-\d{2}(?:\.\d+)?${EXTENSION}$`)

export function isLogFileName(name: string): boolean {
  return LOG_NAME.test(name)
}

/**
 * A live log is where new lines go: a new file under such a name is read from its start. A new
 * file under a rotated name is a copy of lines already read (logrotate's `copytruncate`, or its
 * compression of a rotated file), so it is not read again once following has begun.
 */
export function isLiveLogName(name: string): boolean {
  return LIVE_NAME.test(name) && !LECTERN_ROTATED.test(name)
}

export function isCompressedName(name: string): boolean {
  return name.endsWith('.gz')
}
