/**
 * Cutting a file into byte ranges that each hold whole lines, so threads can scan them apart
 * and every line is read exactly once. A cut at offset x moves forward to the start of the
 * next line: just after the first newline at or after x − 1 (a cut just after a newline stays
 * where it is). A line straddling a cut belongs to the range it starts in; a line longer than a
 * range leaves the ranges it covers empty. CR before LF stays with its line, as in one pass.
 */

/** Reads up to buffer.length bytes at `position`; returns how many (0 at the end). */
export type ReadAt = (buffer: Buffer, position: number) => number

const NEWLINE = 0x0a
/** How much is read at a time while looking for the newline after a cut. */
const PROBE_BYTES = 64 * 1024

/** The start of the first line that starts at or after `offset` (the file's size when none does). */
export function lineStartAtOrAfter(readAt: ReadAt, offset: number, size: number, probe: Buffer): number {
  if (offset <= 0) return 0
  if (offset >= size) return size
  for (let position = offset - 1; position < size;) {
    const read = readAt(probe, position)
    if (read === 0) break
    const newline = probe.subarray(0, read).indexOf(NEWLINE)
    if (newline !== -1) return position + newline + 1
    position += read
  }
  return size
}

/**
 * `pieceCount` ranges of about equal size, as their boundaries: [0, b1, …, size], ascending,
 * each boundary the start of a line. Ranges a long line swallowed are left out, so every range
 * holds at least one byte; an empty file has none.
 */
export function lineAlignedBoundaries(readAt: ReadAt, size: number, pieceCount: number): number[] {
  if (size === 0) return [0]
  const probe = Buffer.allocUnsafe(PROBE_BYTES)
  const boundaries = [0]
  for (let piece = 1; piece < pieceCount; piece++) {
    const cut = lineStartAtOrAfter(readAt, Math.floor((size * piece) / pieceCount), size, probe)
    if (cut > (boundaries.at(-1) as number) && cut < size) boundaries.push(cut)
  }
  boundaries.push(size)
  return boundaries
}
