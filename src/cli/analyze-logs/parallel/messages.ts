import type { LogStatsState } from '../stats.ts'

/** Main thread → worker: scan a file's claimed ranges, or send the figures and stop. */
export type ToWorker = { type: 'scan'; fd: number; boundaries: readonly number[] } | { type: 'finish' }

/** Worker → main thread. */
export type FromWorker =
  | { type: 'scanned' }
  | { type: 'failed'; timeline: boolean; code: string | null; message: string }
  | { type: 'state'; state: LogStatsState }
