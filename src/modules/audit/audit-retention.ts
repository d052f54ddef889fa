import type { Clock } from '../../lib/clock.ts'
import { systemTimers, type Timers } from '../../lib/timers.ts'
import type { Logger } from '../../logging/logger.ts'
import { logEvent } from '../../logging/logger.ts'
import type { AuditRepository } from './audit.repository.ts'

const DAY_MS = 86_400_000

export const AUDIT_RETENTION_DEFAULTS = {
  /** The first prune runs this long after start (not at once: start-up has enough to do). */
  firstPruneDelayMs: 60_000,
  pruneIntervalMs: 3_600_000,
  /** Rows per DELETE: a short statement each, so writers (SQLite has one at a time) are not held up. */
  chunkRows: 1000,
}

export interface AuditRetentionDeps {
  repository: Pick<AuditRepository, 'deleteOlderThan'>
  clock: Clock
  logger: Logger
  retentionDays: number
  timers?: Timers
  firstPruneDelayMs?: number
  pruneIntervalMs?: number
  chunkRows?: number
}

/**
 * Removes audit rows older than AUDIT_RETENTION_DAYS: hourly (unref'd timers), in chunks, on
 * every instance (deleting what another instance already deleted costs nothing). A failed prune
 * is logged and tried again at the next hour; it never stops the server.
 */
export function createAuditRetention(deps: AuditRetentionDeps) {
  const { repository, clock, logger } = deps
  const timers = deps.timers ?? systemTimers
  const chunkRows = deps.chunkRows ?? AUDIT_RETENTION_DEFAULTS.chunkRows
  const pruneIntervalMs = deps.pruneIntervalMs ?? AUDIT_RETENTION_DEFAULTS.pruneIntervalMs
  let timer: unknown = null
  let stopped = false
  let running: Promise<number> | null = null

  /** Deletes every row older than the retention, chunk by chunk; returns how many went. */
  async function pruneAll(): Promise<number> {
    const cutoffMs = clock.now() - deps.retentionDays * DAY_MS
    let deleted = 0
    for (;;) {
      if (stopped) return deleted
      const count = await repository.deleteOlderThan(cutoffMs, chunkRows)
      deleted += count
      if (count < chunkRows) return deleted
      // Between chunks, requests get the event loop (and SQLite's write lock) back.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  function prune(): Promise<number> {
    running ??= pruneAll().finally(() => {
      running = null
    })
    return running
  }

  function schedule(delayMs: number) {
    timer = timers.setTimeout(() => {
      timer = null
      prune()
        .catch((error: unknown) => {
          logEvent(logger, 'warning', 'database_unavailable', {
            extra: {
              during: 'audit trail prune',
              error: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
            },
          })
        })
        .finally(() => {
          if (!stopped) schedule(pruneIntervalMs)
        })
    }, delayMs)
  }

  return {
    prune,
    start() {
      if (timer === null && !stopped) schedule(deps.firstPruneDelayMs ?? AUDIT_RETENTION_DEFAULTS.firstPruneDelayMs)
    },
    async stop() {
      stopped = true
      if (timer !== null) timers.clearTimeout(timer)
      timer = null
      await running?.catch(() => {})
    },
  }
}

export type AuditRetention = ReturnType<typeof createAuditRetention>
