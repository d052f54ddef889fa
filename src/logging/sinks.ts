import sonicBoom from 'sonic-boom'

// CommonJS: the class is both the default export and its own `SonicBoom` property; the latter types cleanly.
const { SonicBoom } = sonicBoom
type SonicBoom = InstanceType<typeof SonicBoom>
import type { Clock } from '../lib/clock.ts'
import type { LineSink } from './logger.ts'

interface Closable {
  /** Writes out whatever is buffered; resolves when it is on its way to the OS. */
  close(): Promise<void>
  /**
   * Writes out whatever is buffered before returning, blocking: only for the process's `exit`
   * event, when nothing asynchronous will run again (a crash, a failed start-up).
   */
  flushSync(): void
}

/** Where the logger writes: serialised lines, as strings. */
export interface ClosableSink extends LineSink, Closable {}

/**
 * A destination (standard output, LOG_FILE): chunks of whole lines already encoded as UTF-8,
 * so a chunk going to two destinations is encoded once. `atMs`: when its first line was logged.
 */
export interface ChunkSink extends Closable {
  write(chunk: Buffer, atMs?: number): void
}

/**
 * SonicBoom in asynchronous buffer mode: a write queues the bytes, and the OS write happens
 * off the request path, so a slow log consumer never stalls a response. Buffer mode because in
 * string mode SonicBoom encodes a chunk twice (for the write, and again to count what was
 * written); no `maxWrite` split, so a batch is one system call.
 */
export function openBoom(fd: number): SonicBoom {
  return new SonicBoom({ fd, sync: false, minLength: 0, contentMode: 'buffer' })
}

/** SonicBoom's type declarations know only `write(string)`; in buffer mode it takes bytes. */
export function writeChunk(boom: SonicBoom, chunk: Buffer): void {
  boom.write(chunk as unknown as string)
}

export function createStdoutSink(): ChunkSink {
  const boom = openBoom(1)
  return {
    write: (chunk) => writeChunk(boom, chunk),
    close: () => closeBoom(boom),
    flushSync: () => flushBoomSync(boom),
  }
}

/** The process is ending: what cannot be written now is lost anyway, so a failure is ignored. */
export function flushBoomSync(boom: SonicBoom): void {
  try {
    boom.flushSync()
  } catch {
    // closed already, or the descriptor is gone
  }
}

export function closeBoom(boom: SonicBoom): Promise<void> {
  return new Promise((resolve) => {
    try {
      // A failed flush is not worth failing shutdown over: resolve either way.
      boom.flush(() => resolve())
    } catch {
      resolve()
    }
  })
}

/** How long a log line may wait to be written together with the lines after it. */
export const LOG_BATCH_DELAY_MS = 10
/**
 * The bytes a batch holds before it is written at once. Under 128 KiB on purpose: a larger
 * buffer is fresh memory from the OS (malloc's mmap threshold), and touching fresh pages on a
 * virtual machine costs more than filling them (docs/adr/0013).
 */
export const LOG_BATCH_BYTES = 64 * 1024
const DAY_MS = 86_400_000

/**
 * Batches log lines: the first line of a batch starts a timer of `delayMs`, and the lines
 * written until it fires go to `sink` with it, as one chunk; a batch that fills its buffer is
 * written at once. Each chunk is one write per destination, so a busy server makes a few
 * hundred writes a second per destination instead of one per line; on a virtual machine a
 * system call costs more than serialising the line (docs/benchmarks.md, docs/adr/0013).
 *
 * Each line is encoded into the batch's buffer as it arrives, while it is still in the CPU's
 * cache: concatenating the lines and encoding the result at the end cost three times as much,
 * as the long string had to be gathered from all over the heap. A line waits at most `delayMs`.
 * A batch never spans midnight UTC, and the sink is told when its first line was logged, so a
 * daily file gets exactly its day's lines. close() writes what is pending, and flushSync()
 * does so before returning (for the process's exit event); a `kill -9` can lose the last few ms.
 */
export function batchLines(sink: ChunkSink, opts: { clock: Clock; delayMs?: number }): ClosableSink {
  const { clock } = opts
  const delayMs = opts.delayMs ?? LOG_BATCH_DELAY_MS
  let batch = Buffer.allocUnsafeSlow(LOG_BATCH_BYTES)
  let used = 0
  let startedAtMs = 0
  let timer: NodeJS.Timeout | null = null
  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (used === 0) return
    const chunk = batch.subarray(0, used)
    // The destinations keep the chunk until it is written: the next batch gets its own buffer.
    batch = Buffer.allocUnsafeSlow(LOG_BATCH_BYTES)
    used = 0
    sink.write(chunk, startedAtMs)
  }
  return {
    write(line) {
      const nowMs = clock.now()
      if (used > 0 && Math.floor(nowMs / DAY_MS) !== Math.floor(startedAtMs / DAY_MS)) flush()
      // A UTF-16 code unit takes at most three bytes in UTF-8: flush first if the line might not fit.
      const maxBytes = line.length * 3
      if (used + maxBytes > batch.length) {
        flush()
        if (maxBytes > batch.length) {
          // Larger than a whole batch (a very long stack trace): a chunk of its own, in order.
          sink.write(Buffer.from(line, 'utf8'), nowMs)
          return
        }
      }
      if (used === 0) startedAtMs = nowMs
      used += batch.write(line, used)
      timer ??= setTimeout(flush, delayMs)
    },
    async close() {
      flush()
      await sink.close()
    },
    flushSync() {
      flush()
      sink.flushSync()
    },
  }
}

/** One chunk to several destinations: serialised and encoded once, not once per destination. */
export function teeSinks(sinks: ChunkSink[]): ChunkSink {
  return {
    write(chunk, atMs) {
      for (const sink of sinks) sink.write(chunk, atMs)
    },
    flushSync() {
      for (const sink of sinks) sink.flushSync()
    },
    async close() {
      await Promise.all(sinks.map((sink) => sink.close()))
    },
  }
}

/** Collects lines in memory: used by tests to read and validate every line a request produced. */
export function createMemorySink(): ClosableSink &
  ChunkSink & {
    write(line: string | Buffer, atMs?: number): void
    lines: string[]
    records(): Record<string, unknown>[]
  } {
  const lines: string[] = []
  return {
    lines,
    write: (line: string | Buffer) => void lines.push(line.toString()),
    close: async () => {},
    flushSync: () => {},
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}
