import sonicBoom from 'sonic-boom'

// CommonJS: the class is both the default export and its own `SonicBoom` property; the latter types cleanly.
const { SonicBoom } = sonicBoom
type SonicBoom = InstanceType<typeof SonicBoom>
import type { Clock } from '../lib/clock.ts'
import type { LineSink } from './logger.ts'

export interface ClosableSink extends LineSink {
  /** Writes out whatever is buffered; resolves when it is on its way to the OS. */
  close(): Promise<void>
  /**
   * Writes out whatever is buffered before returning, blocking: only for the process's `exit`
   * event, when nothing asynchronous will run again (a crash, a failed start-up).
   */
  flushSync(): void
}

/**
 * Standard output through SonicBoom in asynchronous mode: a write is a string append, and the
 * OS write happens off the request path, so a slow log consumer never stalls a response.
 */
export function createStdoutSink(): ClosableSink {
  const boom = new SonicBoom({ fd: 1, sync: false, minLength: 0 })
  return {
    write: (line) => void boom.write(line),
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
/** A batch this large is written at once, so a burst stays bounded in memory. */
const LOG_BATCH_MAX_CHARS = 256 * 1024
const DAY_MS = 86_400_000

/**
 * Batches log lines: the first line of a batch starts a timer of `delayMs`, and the lines
 * written until it fires go to `sink` with it, as one chunk. Each chunk is one write per
 * destination, so a busy server makes at most about a hundred writes a second per destination
 * instead of one per line; on a virtual machine a system call costs more than serialising the
 * line (docs/benchmarks.md, docs/adr/0013). A line waits at most `delayMs`. A batch never
 * spans midnight UTC, and the sink is told when its first line was logged, so a daily file
 * gets exactly its day's lines. close() writes what is pending, and flushSync() does so
 * before returning (for the process's exit event); a `kill -9` can lose the last few ms.
 */
export function batchLines(sink: ClosableSink, opts: { clock: Clock; delayMs?: number }): ClosableSink {
  const { clock } = opts
  const delayMs = opts.delayMs ?? LOG_BATCH_DELAY_MS
  let pending = ''
  let startedAtMs = 0
  let timer: NodeJS.Timeout | null = null
  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (pending === '') return
    const chunk = pending
    pending = ''
    sink.write(chunk, startedAtMs)
  }
  return {
    write(line) {
      const nowMs = clock.now()
      if (pending !== '' && Math.floor(nowMs / DAY_MS) !== Math.floor(startedAtMs / DAY_MS)) flush()
      if (pending === '') startedAtMs = nowMs
      pending += line
      if (pending.length >= LOG_BATCH_MAX_CHARS) flush()
      else timer ??= setTimeout(flush, delayMs)
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

/** One serialised line to several sinks: serialisation happens once, not once per sink. */
export function teeSinks(sinks: ClosableSink[]): ClosableSink {
  return {
    write(line, atMs) {
      for (const sink of sinks) sink.write(line, atMs)
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
export function createMemorySink(): ClosableSink & { lines: string[]; records(): Record<string, unknown>[] } {
  const lines: string[] = []
  return {
    lines,
    write: (line) => void lines.push(line),
    close: async () => {},
    flushSync: () => {},
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}
