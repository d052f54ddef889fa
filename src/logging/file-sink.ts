import { existsSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import type { Clock } from '../lib/clock.ts'
import { createFileWithMode, LOG_FILE_MODE } from '../lib/private-files.ts'
import { closeBoom, flushBoomSync, openBoom, writeChunk, type ChunkSink } from './sinks.ts'

const DAY_MS = 86_400_000

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** `lectern.log` holding the lines of 2026-11-23 becomes `lectern.2026-11-23.log`. */
export function rotatedName(path: string, day: string, attempt = 0): string {
  const ext = extname(path)
  const stem = basename(path, ext)
  const suffix = attempt === 0 ? '' : `.${attempt}`
  return join(dirname(path), `${stem}.${day}${suffix}${ext}`)
}

/** Names of the files rotated from `path` (`lectern.2026-11-23.log`, `….1.log`, `….log.gz`). */
export function rotatedPattern(path: string): RegExp {
  const ext = extname(path)
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^${escape(basename(path, ext))}\\.(\\d{4}-\\d{2}-\\d{2})(?:\\.\\d+)?${escape(ext)}(?:\\.gz)?$`)
}

export interface RotatingFileSinkOptions {
  path: string
  retentionDays: number
  clock: Clock
  /** Told about rotation and failures; must not write back into this sink synchronously. */
  onRotate?: (rotatedPath: string, removed: string[]) => void
}

/**
 * LOG_FILE: appends JSON lines, and at the first write of a new UTC day renames the file to
 * carry the day its lines belong to, reopens a fresh one and removes rotated files older than
 * the retention. The date check is one string compare per chunk; rotation happens once a day.
 */
export function createRotatingFileSink(
  opts: RotatingFileSinkOptions,
): ChunkSink & { rotateIfDue(atMs?: number): void } {
  const { path, clock } = opts
  mkdirSync(dirname(path), { recursive: true })
  // A file left by an earlier run belongs to the day it was last written.
  let currentDay = existsSync(path) ? utcDay(statSync(path).mtimeMs) : utcDay(clock.now())
  // Opened synchronously (once a day): writes queued on the old descriptor still land in the
  // renamed file, and the new file exists before the first line of the new day is queued.
  // Created 0640 before it is opened for appending (not the umask's 0644); a rotated file is
  // the same file renamed, so it keeps the mode.
  const open = () => {
    createFileWithMode(path, LOG_FILE_MODE)
    return openBoom(openSync(path, 'a'))
  }
  let boom = open()

  function prune(): string[] {
    const oldestKept = utcDay(clock.now() - opts.retentionDays * DAY_MS)
    const pattern = rotatedPattern(path)
    const removed: string[] = []
    for (const name of readdirSync(dirname(path))) {
      const day = pattern.exec(name)?.[1]
      if (day !== undefined && day < oldestKept) {
        unlinkSync(join(dirname(path), name))
        removed.push(name)
      }
    }
    return removed
  }

  /** `atMs`: when the lines about to be written were logged (a batch is written a little later). */
  function rotateIfDue(atMs = clock.now()) {
    const today = utcDay(atMs)
    if (today === currentDay) return
    let target = rotatedName(path, currentDay)
    for (let attempt = 1; existsSync(target); attempt++) target = rotatedName(path, currentDay, attempt)
    currentDay = today
    try {
      renameSync(path, target)
      const previous = boom
      boom = open()
      previous.end() // flushes what was queued for the old day into the renamed file
      opts.onRotate?.(target, prune())
    } catch {
      // Rotation trouble must never take the request path down; the live file keeps growing.
    }
  }

  return {
    write(chunk, atMs) {
      rotateIfDue(atMs)
      writeChunk(boom, chunk)
    },
    flushSync: () => flushBoomSync(boom),
    rotateIfDue,
    close: async () => {
      await closeBoom(boom)
      boom.end()
    },
  }
}
