import sonicBoom from 'sonic-boom'

// CommonJS: the class is both the default export and its own `SonicBoom` property; the latter types cleanly.
const { SonicBoom } = sonicBoom
type SonicBoom = InstanceType<typeof SonicBoom>
import type { LineSink } from './logger.ts'

export interface ClosableSink extends LineSink {
  /** Writes out whatever is buffered; resolves when it is on its way to the OS. */
  close(): Promise<void>
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

/** A turn's lines are handed on at once when they reach this size, so a burst stays bounded. */
const COALESCE_MAX_CHARS = 256 * 1024

/**
 * Collects the lines written during one turn of the event loop and hands them to `sink` as one
 * chunk at setImmediate, before the loop waits for I/O again. Under load a turn serves several
 * requests; without this each of their lines cost one write system call per destination, and
 * on a virtual machine a system call costs more than serialising the line (docs/benchmarks.md).
 * A line waits at most until the end of the turn; close() hands on what is pending first.
 */
export function coalescePerTurn(sink: ClosableSink): ClosableSink {
  let pending = ''
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending === '') return
    const chunk = pending
    pending = ''
    sink.write(chunk)
  }
  return {
    write(line) {
      pending += line
      if (pending.length >= COALESCE_MAX_CHARS) flush()
      else if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    async close() {
      flush()
      await sink.close()
    },
  }
}

/** One serialised line to several sinks: serialisation happens once, not once per sink. */
export function teeSinks(sinks: ClosableSink[]): ClosableSink {
  return {
    write(line) {
      for (const sink of sinks) sink.write(line)
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
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}
