/**
 * Which files of a followed directory are logs, and which of them are live (still written) rather
 * than rotated. The names are the batch analyzer's (log-file-names.ts), so `--follow` and a
 * one-off run take the same files: Lectern's own rotation and logrotate's, each optionally `.gz`.
 */
import { classifyLogFileName } from '../log-file-names.ts'

export function isLogFileName(name: string): boolean {
  return classifyLogFileName(name) !== null
}

/**
 * A live log is where new lines go: a new file under such a name is read from its start. A new
 * file under a rotated name is a copy of lines already read (logrotate's `copytruncate`, or its
 * compression of a rotated file), so it is not read again once following has begun.
 */
export function isLiveLogName(name: string): boolean {
  return classifyLogFileName(name)?.kind === 'live' && !isCompressedName(name)
}

export function isCompressedName(name: string): boolean {
  return name.endsWith('.gz')
}
