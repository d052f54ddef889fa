import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { InputError, describeFileError } from '../inputs.ts'
import type { StatsConfig } from '../stats-config.ts'
import type { LogStats } from '../stats.ts'
import { TimelineTooLongError } from '../timeline.ts'
import { lineAlignedBoundaries } from './line-ranges.ts'
import type { FromWorker, ToWorker } from './messages.ts'
import { RangeScanner } from './range-scan.ts'

/**
 * A large plain file is scanned by every core: the main thread and worker threads each claim
 * ranges of whole lines (line-ranges.ts) and count them into their own LogStats; at the end
 * the workers' figures are merged into the main thread's, exactly (LogStats.merge). Standard
 * input and gzip files are one stream that cannot be cut, and stay on the main thread.
 */

/**
 * Below this a file is read by the main thread alone: starting a worker (a thread, its own
 * copy of the analyzer's modules) costs about as much CPU as scanning a few tens of MB.
 */
export const PARALLEL_MIN_BYTES = 64 * 1024 * 1024
/** More threads than this gain little: the disk or memory bandwidth is the limit by then. */
const MAX_WORKERS = 7
/** Ranges of about this size: small enough that a thread that started late still gets its share. */
const RANGE_BYTES = 16 * 1024 * 1024
const GZIP_MAGIC = [0x1f, 0x8b]

export interface ParallelOptions {
  /** Files smaller than this are read in one pass. */
  minBytes: number
  /** Worker threads besides the main thread; 0 turns the parallel scan off. */
  workers: number
}

export function defaultParallelOptions(): ParallelOptions {
  return { minBytes: PARALLEL_MIN_BYTES, workers: Math.max(0, Math.min(MAX_WORKERS, availableParallelism() - 1)) }
}

// Node strips the worker's types as it does the rest (it inherits the process's flags: docs/adr/0014).
const WORKER_URL = new URL('./worker-entry.ts', import.meta.url)

interface ScanWorker {
  worker: Worker
  /** The worker's next message; rejects when it dies. */
  next(): Promise<FromWorker>
}

export class ParallelScan {
  private readonly config: StatsConfig
  private readonly options: ParallelOptions
  private readonly claims = new Int32Array(new SharedArrayBuffer(4))
  /** Bytes and lines scanned by every thread, for the progress line. */
  private readonly progress = new BigInt64Array(new SharedArrayBuffer(16))
  private workers: ScanWorker[] | null = null
  private mainScanner: RangeScanner | null = null

  constructor(config: StatsConfig, options: ParallelOptions) {
    this.config = config
    this.options = options
  }

  /**
   * Scans the file at `path` with every thread, into `stats` (the main thread's share) and the
   * workers' own, and returns how many bytes and lines it read; null, having read nothing, when the file is not worth it or cannot be cut
   * (small, gzip, not a regular file): the caller then reads it in one pass.
   */
  async scanFile(
    path: string,
    name: string,
    stats: LogStats,
    onProgress: (bytes: number, lines: number) => void,
  ): Promise<{ bytes: number; lines: number } | null> {
    if (this.options.workers === 0 || path.endsWith('.gz')) return null
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (error) {
      throw new InputError(`cannot read "${name}": ${describeFileError(error as NodeJS.ErrnoException)}`)
    }
    const pending: Array<Promise<FromWorker>> = []
    try {
      const info = fstatSync(fd)
      if (!info.isFile() || info.size < Math.max(1, this.options.minBytes) || isGzip(fd)) return null
      const readAt = (buffer: Buffer, position: number) => readSync(fd, buffer, 0, buffer.length, position)
      const threads = this.options.workers + 1
      const ranges = Math.max(threads * 4, Math.ceil(info.size / RANGE_BYTES))
      const boundaries = lineAlignedBoundaries(readAt, info.size, ranges)
      const workers = this.start()
      this.mainScanner ??= new RangeScanner(stats)
      Atomics.store(this.claims, 0, 0)
      const before = { bytes: this.progress[0] as bigint, lines: this.progress[1] as bigint }
      const done = () => ({
        bytes: Number((this.progress[0] as bigint) - before.bytes),
        lines: Number((this.progress[1] as bigint) - before.lines),
      })
      const report = () => {
        const { bytes, lines } = done()
        onProgress(bytes, lines)
      }
      for (const { worker, next } of workers) {
        worker.postMessage({ type: 'scan', fd, boundaries } satisfies ToWorker)
        pending.push(next())
      }
      // The workers take a moment to start: the main thread has claimed the first ranges by then.
      this.mainScanner.scanClaimed(fd, boundaries, this.claims, this.progress, report)
      for (const settled of await Promise.allSettled(pending.splice(0))) {
        if (settled.status === 'rejected') throw settled.reason
        const reply = settled.value
        if (reply.type !== 'failed') continue
        if (reply.timeline) throw new TimelineTooLongError(reply.message)
        // A read failure carries a code, as on the main thread; anything else is a bug and stays one.
        if (reply.code === null) throw new Error(`analyzer worker: ${reply.message}`)
        const reason = describeFileError({ code: reply.code, message: reply.message } as NodeJS.ErrnoException)
        throw new InputError(`cannot read "${name}": ${reason}`)
      }
      return done()
    } catch (error) {
      if (error instanceof Error && 'code' in error && !(error instanceof InputError)) {
        throw new InputError(`cannot read "${name}": ${describeFileError(error as NodeJS.ErrnoException)}`)
      }
      throw error
    } finally {
      // The workers read through this descriptor: it is closed only once they are done with it.
      await Promise.allSettled(pending)
      closeSync(fd)
    }
  }

  /** Merges every worker's figures into `stats` and stops the workers. */
  async finish(stats: LogStats): Promise<void> {
    const workers = this.workers ?? []
    this.workers = null
    try {
      for (const { worker, next } of workers) {
        worker.postMessage({ type: 'finish' } satisfies ToWorker)
        const reply = await next()
        if (reply.type !== 'state') throw new Error(`analyzer worker: unexpected reply ${reply.type}`)
        stats.merge(reply.state)
      }
    } finally {
      await Promise.all(workers.map(({ worker }) => worker.terminate()))
    }
  }

  /** Stops the workers without their figures (the run failed). */
  async close(): Promise<void> {
    const workers = this.workers ?? []
    this.workers = null
    await Promise.all(workers.map(({ worker }) => worker.terminate()))
  }

  private start(): ScanWorker[] {
    if (this.workers !== null) return this.workers
    this.workers = Array.from({ length: this.options.workers }, () =>
      startWorker({ config: this.config, claims: this.claims, progress: this.progress }),
    )
    return this.workers
  }
}

function startWorker(workerData: unknown): ScanWorker {
  const worker = new Worker(WORKER_URL, { workerData })
  const queued: FromWorker[] = []
  const waiting: Array<{ resolve(message: FromWorker): void; reject(error: Error): void }> = []
  let failure: Error | null = null
  worker.on('message', (message: FromWorker) => {
    const waiter = waiting.shift()
    if (waiter) waiter.resolve(message)
    else queued.push(message)
  })
  const fail = (error: Error) => {
    failure ??= error
    for (const waiter of waiting.splice(0)) waiter.reject(failure)
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`analyzer worker stopped (exit code ${code})`)))
  return {
    worker,
    next() {
      const message = queued.shift()
      if (message !== undefined) return Promise.resolve(message)
      if (failure !== null) return Promise.reject(failure)
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }))
    },
  }
}

function isGzip(fd: number): boolean {
  const head = Buffer.alloc(2)
  return readSync(fd, head, 0, 2, 0) === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]
}
