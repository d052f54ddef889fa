import type { Stats } from 'node:fs'
import { open, readdir, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { MAX_LINE_BYTES } from '../analyze.ts'
import { compareLogFileNames, describeFileError } from '../inputs.ts'
import { LineSplitter, type LineSink } from '../line-splitter.ts'
import { READ_CHUNK_BYTES, readInputChunks } from '../read.ts'
import { isCompressedName, isLiveLogName, isLogFileName } from './log-names.ts'

/** A named operand of `--follow`: a file followed by its name, or a directory whose log files are followed. */
export interface FollowTarget {
  kind: 'file' | 'directory'
  path: string
}

export interface FileTrackerOptions {
  targets: readonly FollowTarget[]
  /** Where every line of every file goes. */
  sink: LineSink
  nowMs: () => number
  /** At start, files not written since before the window hold no line of it and are not read. */
  windowMs: number
  /** A file that cannot be read; said once per file and problem, and following goes on. */
  warn: (message: string) => void
  /** Checked between reads, so a stop request does not wait for a large file to be read through. */
  stopped: () => boolean
}

/** Clocks of the writer and of the file system may differ a little: a file this much older than the window is still read. */
const MTIME_SLACK_MS = 60_000

/** Enough bytes of a log line (its end: duration, error, and the newline) to tell two lines apart. */
const TAIL_CHECK_BYTES = 64

/** One open file being followed, known by its identity (device and inode), not by its name. */
interface Follower {
  identity: string
  name: string
  handle: FileHandle
  /** Bytes read so far: where the next read starts. */
  position: number
  splitter: LineSplitter
  /** The last bytes read, up to TAIL_CHECK_BYTES: still there unless the file was truncated and written again. */
  tail: Buffer
  /** Renamed away, removed, or replaced under its name: read to its end twice more, then closed. */
  retiring: boolean
}

interface Candidate {
  path: string
  live: boolean
}

/**
 * Follows log files as `tail -F` does, by polling (stat, then read what was added), and survives
 * rotation of every usual kind:
 *
 * - rename + new file (Lectern's daily rotation, logrotate's default `create`): the renamed file
 *   is still open here and is read to its end (twice: a writer may flush into it just after
 *   the rename), then closed; the new live file is read from its start;
 * - `copytruncate`: the live file shrinks below what was read, so it is read again from its
 *   start; the copy has a rotated name and is not read again;
 * - compression of a rotated file: a new `.gz` under a rotated name, not read again.
 *
 * Files are known by device and inode, so a renamed file is never read twice under two names.
 * Polling rather than fs.watch: watch events are lost on network and container file systems,
 * differ in meaning between platforms (and on rename), and would need polling as a fallback
 * anyway; a stat per file per poll costs next to nothing.
 */
export class LogFileTracker {
  private readonly followers = new Map<string, Follower>()
  /**
   * Identities read to the end and not to be read again (rotated copies, closed files), with
   * their modification time then; forgotten once gone from the directory. An inode number freed
   * by a removed file may come back with a new file: the birth time in the identity, and where a
   * file system has none the modification time, tell the two apart.
   */
  private readonly done = new Map<string, number | undefined>()
  /** Files (by identity) and directories (by path) already warned about. */
  private readonly warnedFiles = new Set<string>()
  private readonly warnedDirectories = new Set<string>()
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES)
  private started = false
  private readonly options: FileTrackerOptions

  constructor(options: FileTrackerOptions) {
    this.options = options
  }

  /** Files held open now. */
  get openFiles(): number {
    return this.followers.size
  }

  /** One round: notice new, rotated and truncated files, and read every line added since the last round. */
  async poll(): Promise<void> {
    const seen = new Set<string>()
    const live = new Set<string>()
    for (const candidate of await this.candidates()) {
      if (this.options.stopped()) return
      const info = await stat(candidate.path).catch(() => null) // gone between listing and stat: next round
      if (info === null || !info.isFile()) continue
      const identity = identityOf(info)
      seen.add(identity)
      if (candidate.live) live.add(identity)
      const follower = this.followers.get(identity)
      if (follower !== undefined) follower.name = candidate.path
      else if (!this.isDone(identity, info)) await this.begin(candidate, info, identity)
    }
    for (const follower of [...this.followers.values()]) {
      if (this.options.stopped()) return
      if (live.has(follower.identity) && !follower.retiring) await this.readActive(follower)
      else await this.readRetiring(follower)
    }
    for (const identity of this.done.keys()) if (!seen.has(identity)) this.done.delete(identity)
    for (const identity of this.warnedFiles) if (!seen.has(identity)) this.warnedFiles.delete(identity)
    this.started = true
  }

  /** Closes every file; lines not yet ended by a newline are left unread, as a writer may still be writing them. */
  async close(): Promise<void> {
    const followers = [...this.followers.values()]
    this.followers.clear()
    await Promise.all(followers.map((f) => f.handle.close().catch(() => {})))
  }

  /** What the targets name now: a file target is live by definition; a directory's files by their names. */
  private async candidates(): Promise<Candidate[]> {
    const candidates: Candidate[] = []
    for (const target of this.options.targets) {
      if (target.kind === 'file') {
        // A named file is followed by its name, unless it is compressed: that is read once.
        candidates.push({ path: target.path, live: !isCompressedName(target.path) })
        continue
      }
      let names: string[]
      try {
        names = await readdir(target.path)
      } catch (error) {
        if (!this.warnedDirectories.has(target.path)) {
          this.warnedDirectories.add(target.path)
          this.options.warn(`cannot read directory "${target.path}": ${describe(error)}`)
        }
        continue
      }
      this.warnedDirectories.delete(target.path)
      for (const name of names.filter(isLogFileName).sort(compareLogFileNames)) {
        candidates.push({ path: join(target.path, name), live: isLiveLogName(name) })
      }
    }
    return candidates
  }

  /** A file not seen before. */
  private async begin(candidate: Candidate, info: Stats, identity: string): Promise<void> {
    const { path, live } = candidate
    if (!this.started && info.mtimeMs < this.options.nowMs() - this.options.windowMs - MTIME_SLACK_MS) {
      // Written last before the window: none of its lines can count. A live file is followed from its end.
      if (live) await this.follow(path, identity, info.size)
      else this.done.set(identity, info.mtimeMs)
      return
    }
    if (live && !isCompressedName(path)) {
      await this.follow(path, identity, 0)
      return
    }
    // A rotated file: what it holds was read under its live name, unless it was already there at start.
    if (!this.started) await this.readOnce(path, identity)
    this.done.set(identity, info.mtimeMs)
  }

  private async follow(path: string, expectedIdentity: string, position: number): Promise<void> {
    let handle: FileHandle | null = null
    try {
      handle = await open(path, 'r')
      // The name may have moved on to another file between the stat and the open: go by what was opened.
      const identity = identityOf(await handle.stat())
      if (identity !== expectedIdentity && (this.followers.has(identity) || this.done.has(identity))) {
        await handle.close()
        return
      }
      const start = identity === expectedIdentity ? position : 0
      const tail = Buffer.alloc(Math.min(start, TAIL_CHECK_BYTES))
      if (tail.length > 0) await handle.read(tail, 0, tail.length, start - tail.length)
      this.followers.set(identity, {
        identity,
        name: path,
        handle,
        position: start,
        splitter: new LineSplitter(this.options.sink, MAX_LINE_BYTES),
        tail,
        retiring: false,
      })
    } catch (error) {
      await handle?.close().catch(() => {})
      this.warnOnce(expectedIdentity, `cannot read "${path}": ${describe(error)}`)
    }
  }

  private async readActive(follower: Follower): Promise<void> {
    try {
      const { size } = await follower.handle.stat()
      if (size === follower.position) return
      if (size < follower.position || !(await this.tailUnchanged(follower))) {
        // Truncated in place (copytruncate), and perhaps written again past where reading was:
        // start again; a half line from before belongs to the copy.
        follower.position = 0
        follower.tail = Buffer.alloc(0)
        follower.splitter = new LineSplitter(this.options.sink, MAX_LINE_BYTES)
      }
      await this.readToEnd(follower)
    } catch (error) {
      await this.stop(follower, error)
    }
  }

  private async readRetiring(follower: Follower): Promise<void> {
    try {
      await this.readToEnd(follower)
      if (!follower.retiring) {
        follower.retiring = true
        return
      }
      // Its last line ends with the file, newline or not.
      follower.splitter.end()
      await this.stop(follower, null)
    } catch (error) {
      await this.stop(follower, error)
    }
  }

  private async readToEnd(follower: Follower): Promise<void> {
    while (!this.options.stopped()) {
      const { bytesRead } = await follower.handle.read(this.buffer, 0, this.buffer.length, follower.position)
      if (bytesRead === 0) return
      follower.position += bytesRead
      follower.tail = lastBytes(follower.tail, this.buffer.subarray(0, bytesRead))
      follower.splitter.push(this.buffer.subarray(0, bytesRead))
    }
  }

  /**
   * Whether the bytes before the read position are still the ones read there. A file truncated
   * and written again beyond that position between two rounds has not shrunk, but its bytes differ.
   */
  private async tailUnchanged(follower: Follower): Promise<boolean> {
    const { tail } = follower
    if (tail.length === 0) return true
    const now = Buffer.allocUnsafe(tail.length)
    const { bytesRead } = await follower.handle.read(now, 0, tail.length, follower.position - tail.length)
    return bytesRead === tail.length && now.equals(tail)
  }

  private async stop(follower: Follower, error: unknown): Promise<void> {
    this.followers.delete(follower.identity)
    const info = await follower.handle.stat().catch(() => null)
    this.done.set(follower.identity, info?.mtimeMs)
    await follower.handle.close().catch(() => {})
    if (error !== null) this.warnOnce(follower.identity, `cannot read "${follower.name}": ${describe(error)}`)
  }

  /** A file that is complete (rotated, perhaps compressed): read through once, gzip or not. */
  private async readOnce(path: string, identity: string): Promise<void> {
    const splitter = new LineSplitter(this.options.sink, MAX_LINE_BYTES)
    try {
      for await (const chunk of readInputChunks({ kind: 'file', path, name: path }, Readable.from([]))) {
        if (this.options.stopped()) return
        splitter.push(chunk)
      }
      splitter.end()
    } catch (error) {
      this.warnOnce(identity, error instanceof Error ? error.message : String(error))
    }
  }

  private isDone(identity: string, info: Stats): boolean {
    if (!this.done.has(identity)) return false
    const mtimeMs = this.done.get(identity)
    if (mtimeMs === undefined || mtimeMs === info.mtimeMs) return true
    this.done.delete(identity)
    return false
  }

  /** One warning per file while it exists: a file that stays unreadable is not reported every round. */
  private warnOnce(identity: string, message: string): void {
    if (this.warnedFiles.has(identity)) return
    this.warnedFiles.add(identity)
    this.options.warn(message)
  }
}

/** The last TAIL_CHECK_BYTES of `before` followed by `chunk`, as a buffer of its own. */
function lastBytes(before: Buffer, chunk: Buffer): Buffer {
  if (chunk.length >= TAIL_CHECK_BYTES) return Buffer.from(chunk.subarray(chunk.length - TAIL_CHECK_BYTES))
  return Buffer.concat([before, chunk]).subarray(-TAIL_CHECK_BYTES)
}

function identityOf(info: Stats): string {
  return `${info.dev}:${info.ino}:${info.birthtimeMs}`
}

function describe(error: unknown): string {
  if (error instanceof Error && 'code' in error) return describeFileError(error as NodeJS.ErrnoException)
  return error instanceof Error ? error.message : String(error)
}
