const NEWLINE = 0x0a

/** Longer lines are skipped: no log line of Lectern's comes near, and it bounds the carry buffer. */
export const MAX_LINE_BYTES = 1024 * 1024

/** Receives each line as a byte range; `buf[end]` is always a newline byte (see LogLineScanner). */
export interface LineSink {
  line(buf: Buffer, start: number, end: number): void
  /** A line longer than the limit: its bytes were dropped, and it counts as skipped. */
  overlongLine(): void
}

/**
 * Splits chunks into lines on the newline byte, without making a string per line. Lines are
 * handed over as ranges of the chunk itself; only a line cut by a chunk boundary is copied,
 * into a carry buffer that never grows beyond maxLineBytes, so a file without newlines
 * cannot make memory grow with its size.
 *
 * A chunk may be reused by its producer once push() returns.
 */
export class LineSplitter {
  private carry: Buffer
  private carryBytes = 0
  /** True while dropping the rest of a line already known to be too long. */
  private dropping = false

  private readonly sink: LineSink
  private readonly maxLineBytes: number

  constructor(sink: LineSink, maxLineBytes: number) {
    this.sink = sink
    this.maxLineBytes = maxLineBytes
    this.carry = Buffer.allocUnsafe(Math.min(maxLineBytes, 64 * 1024) + 1)
  }

  push(chunk: Buffer): void {
    let start = 0
    if (this.carryBytes > 0 || this.dropping) {
      const newline = chunk.indexOf(NEWLINE)
      if (newline === -1) {
        this.appendToCarry(chunk, 0, chunk.length)
        return
      }
      this.appendToCarry(chunk, 0, newline)
      this.flushCarry()
      start = newline + 1
    }
    const sink = this.sink
    let newline = chunk.indexOf(NEWLINE, start)
    while (newline !== -1) {
      // The same limit as for a line split across chunks, so the answer never depends on chunk size.
      if (newline - start > this.maxLineBytes) sink.overlongLine()
      else sink.line(chunk, start, newline)
      start = newline + 1
      newline = chunk.indexOf(NEWLINE, start)
    }
    this.appendToCarry(chunk, start, chunk.length)
  }

  /** The last line, when the input does not end with a newline. */
  end(): void {
    if (this.carryBytes > 0 || this.dropping) this.flushCarry()
  }

  private appendToCarry(chunk: Buffer, start: number, end: number): void {
    if (this.dropping || start === end) return
    const needed = this.carryBytes + (end - start)
    if (needed > this.maxLineBytes) {
      this.dropping = true
      this.carryBytes = 0
      return
    }
    if (needed + 1 > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(needed + 1, this.carry.length * 2), this.maxLineBytes + 1))
      this.carry.copy(grown, 0, 0, this.carryBytes)
      this.carry = grown
    }
    chunk.copy(this.carry, this.carryBytes, start, end)
    this.carryBytes = needed
  }

  private flushCarry(): void {
    if (this.dropping) {
      this.dropping = false
      this.sink.overlongLine()
    } else {
      this.carry[this.carryBytes] = NEWLINE
      this.sink.line(this.carry, 0, this.carryBytes)
    }
    this.carryBytes = 0
  }
}
