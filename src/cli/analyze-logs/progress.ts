import { formatCount } from './report.ts'

/**
 * A one-line progress display on standard error for long runs at a terminal. It stays silent
 * for the first second (short runs print nothing) and redraws at most four times a second;
 * the clock is read once per chunk, never per line.
 */
export interface Progress {
  update(input: { name: string; index: number; count: number }, bytesRead: number, linesRead: number): void
  /** Erases the line, so the report starts on a clean line. */
  finish(): void
}

export const QUIET_PROGRESS: Progress = { update() {}, finish() {} }

const SILENT_FIRST_MS = 1000
const REDRAW_EVERY_MS = 250

export function terminalProgress(stderr: NodeJS.WritableStream, now: () => Date): Progress {
  const startedMs = now().getTime()
  let lastDrawnMs = -Infinity
  let drawn = false
  return {
    update(input, bytesRead, linesRead) {
      const nowMs = now().getTime()
      const elapsedMs = nowMs - startedMs
      if (elapsedMs < SILENT_FIRST_MS || nowMs - lastDrawnMs < REDRAW_EVERY_MS) return
      lastDrawnMs = nowMs
      drawn = true
      const megabytes = bytesRead / 1e6
      const rate = megabytes / (elapsedMs / 1000)
      const file = input.count > 1 ? ` (${input.index + 1}/${input.count})` : ''
      stderr.write(
        `\r\x1b[Kreading ${input.name}${file}: ${formatCount(linesRead)} lines, ` +
          `${megabytes.toFixed(1)} MB, ${rate.toFixed(0)} MB/s`,
      )
    },
    finish() {
      if (drawn) stderr.write('\r\x1b[K')
      drawn = false
    },
  }
}
