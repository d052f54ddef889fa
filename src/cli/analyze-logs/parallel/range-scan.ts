import { fstatSync, readSync } from 'node:fs'
import { LogLineScanner } from '../line-scanner.ts'
import { LineSplitter, MAX_LINE_BYTES } from '../line-splitter.ts'
import { READ_CHUNK_BYTES } from '../read.ts'
import type { LogStats } from '../stats.ts'

/**
 * The scanning loop one thread runs over a file shared with others: it claims the next range
 * from a counter all threads share (Atomics), reads it with its own buffer and folds its
 * lines into its own LogStats, until no range is left. Claiming instead of being handed a
 * fixed share balances the work when one thread starts later or gets less of the CPU.
 */
export class RangeScanner {
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES)
  private readonly scanner = new LogLineScanner()
  private readonly splitter: LineSplitter
  private readonly stats: LogStats
  private lines = 0

  constructor(stats: LogStats) {
    this.stats = stats
    const scanner = this.scanner
    this.splitter = new LineSplitter(
      {
        line: (buf, start, end) => {
          this.lines++
          stats.add(scanner.scan(buf, start, end))
        },
        overlongLine: () => {
          this.lines++
          stats.addSkipped()
        },
      },
      MAX_LINE_BYTES,
    )
  }

  /**
   * Scans claimed ranges of `fd` until none is left. `claims[0]` is the next range to take;
   * `progress` ([bytes, lines] of every thread) grows after each range.
   */
  scanClaimed(
    fd: number,
    boundaries: readonly number[],
    claims: Int32Array,
    progress: BigInt64Array,
    afterRange: () => void = () => {},
  ): void {
    const ranges = boundaries.length - 1
    for (;;) {
      const range = Atomics.add(claims, 0, 1)
      if (range >= ranges) return
      const from = boundaries[range] as number
      const to = boundaries[range + 1] as number
      const linesBefore = this.lines
      this.scanRange(fd, from, to)
      Atomics.add(progress, 0, BigInt(to - from))
      Atomics.add(progress, 1, BigInt(this.lines - linesBefore))
      afterRange()
    }
  }

  private scanRange(fd: number, from: number, to: number): void {
    for (let position = from; position < to;) {
      const read = readSync(fd, this.buffer, 0, Math.min(this.buffer.length, to - position), position)
      if (read === 0) break // the file was cut short while being read
      this.splitter.push(this.buffer.subarray(0, read))
      position += read
    }
    // A range ends at the start of a line (or at the end of the file): its last line is whole.
    this.splitter.end()
  }
}

/** Whether `fd` is a regular file (a FIFO or a device has no size to cut, and cannot be read at an offset). */
export function isRegularFile(fd: number): boolean {
  return fstatSync(fd).isFile()
}
