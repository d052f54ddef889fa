import { LogStats } from './stats.ts'
import { Timeline } from './timeline.ts'
import { windowContains, type TimeWindow } from './window.ts'

/**
 * What a LogStats is made of, as plain data: a worker thread builds its own from it, so that
 * its figures merge with the main thread's exactly (same window, same buckets).
 */
export interface StatsConfig {
  window: TimeWindow
  topErrors: number
  /** A timeline's bucket length, 'auto' for one that chooses it (--html), or null for none. */
  bucket: number | 'auto' | null
  latencyExactCapacity?: number
  errorGroupCapacity?: number
}

export function createStats(config: StatsConfig): { stats: LogStats; timeline: Timeline | null } {
  const timeline =
    config.bucket === null ? null : new Timeline(config.bucket, config.window, config.latencyExactCapacity)
  const stats = new LogStats({
    contains: windowContains(config.window),
    topErrors: config.topErrors,
    timeline,
    ...(config.latencyExactCapacity === undefined ? {} : { latencyExactCapacity: config.latencyExactCapacity }),
    ...(config.errorGroupCapacity === undefined ? {} : { errorGroupCapacity: config.errorGroupCapacity }),
  })
  return { stats, timeline }
}
