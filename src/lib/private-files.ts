import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Modes for what Lectern keeps on disk. DATA_DIR holds the database (password hashes, session
 * hashes) and the generated session secret: nobody else on the machine may read or list it. The
 * log file may be read by the operator's group (a log shipper) but never by everyone. Every mode
 * is set explicitly: the process umask is whatever the service manager left, often 022 or 0.
 */
export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600
export const LOG_FILE_MODE = 0o640

/** A file or folder whose mode allowed more than it should, and what it was changed to. */
export interface TightenedMode {
  path: string
  oldMode: number
  newMode: number
}

/** `0o644` → `"0644"`, as an operator writes it for chmod. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`
}

/** Creates the folder (and missing parents) with PRIVATE_DIR_MODE; an existing one is left as it is. */
export function createPrivateDir(path: string): void {
  const created = mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE })
  // mkdir's mode passes through the umask; this makes it exact.
  if (created !== undefined) chmodSync(path, PRIVATE_DIR_MODE)
}

/**
 * Creates the file empty with `mode` unless it exists, so that whoever opens it next (SQLite,
 * the log sink) never creates it with the umask's default and it is never briefly readable.
 */
export function createFileWithMode(path: string, mode: number): void {
  let fd: number
  try {
    fd = openSync(path, 'wx', mode)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
    throw error
  }
  try {
    chmodSync(path, mode) // openSync's mode passes through the umask too
  } finally {
    closeSync(fd)
  }
}

/**
 * Takes away every permission beyond `maxMode` (a 0644 file under a 0600 limit becomes 0600;
 * a 0400 file stays 0400). Returns what changed, or null when the mode was already within it
 * or the path does not exist.
 */
export function tightenMode(path: string, maxMode: number): TightenedMode | null {
  let mode: number
  try {
    mode = statSync(path).mode & 0o777
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  if ((mode & ~maxMode) === 0) return null
  const newMode = mode & maxMode
  chmodSync(path, newMode)
  return { path, oldMode: mode, newMode }
}

/** Names in `folder` that `matches` accepts, as full paths; none when the folder does not exist. */
export function filesIn(folder: string, matches: (name: string) => boolean): string[] {
  try {
    return readdirSync(folder)
      .filter(matches)
      .map((name) => join(folder, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}
