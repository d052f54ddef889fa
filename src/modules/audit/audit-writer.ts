import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { RequestObserver } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import { systemTimers, type Timers } from '../../lib/timers.ts'
import { SECURITY_EVENT_LEVEL, SECURITY_EVENTS, type SecurityEventName } from '../../logging/events.ts'
import { logEvent, type EventFields, type Logger } from '../../logging/logger.ts'
import { redactSecrets } from '../../logging/redact.ts'
import { COALESCED, type AuditRepository, type NewAuditRow } from './audit.repository.ts'
import { MAX_USER_ID } from './audit.schemas.ts'

/** One security event as the audit trail receives it. */
export interface AuditEntry {
  event: SecurityEventName
  userId: number | null
  remoteAddr: string
  requestId: string | null
  /** The event's details, before redaction (the writer redacts them as the log line does). */
  extra: Record<string, unknown>
}

export const AUDIT_WRITER_DEFAULTS = {
  /** How often the buffer is written out. */
  flushIntervalMs: 1000,
  /** Rows per write; a buffer this full is written at once, without waiting for the interval. */
  batchRows: 500,
  /** Distinct rows held at most; beyond it a new row is dropped (and counted), never the process's memory. */
  maxPendingRows: 10_000,
  /** How long closing waits for the last write. */
  closeTimeoutMs: 5000,
}

/** An `extra` longer than this as JSON is kept as a marker: the log line still has it whole. */
export const MAX_EXTRA_JSON_CHARS = 4096
const TRUNCATED_EXTRA = JSON.stringify({ truncated: true })
const MINUTE_MS = 60_000

export type DropReason = 'buffer_full' | 'write_failed' | 'shutdown'

export interface AuditWriterDeps {
  repository: Pick<AuditRepository, 'write'>
  clock: Clock
  logger: Logger
  timers?: Timers
  flushIntervalMs?: number
  batchRows?: number
  maxPendingRows?: number
  closeTimeoutMs?: number
}

export interface AuditWriter {
  /** Takes one event in; returns at once, never throws, never waits for the database. */
  record(entry: AuditEntry): void
  /** Writes everything recorded so far (tests, and closing). */
  flush(): Promise<void>
  /** Starts the periodic write. */
  start(): void
  /** Stops the timer and writes what is left, waiting at most closeTimeoutMs. */
  close(): Promise<void>
  /** Rows waiting to be written (not counting a write in progress). */
  pendingRows(): number
}

function eventsIn(rows: Iterable<NewAuditRow>): number {
  let events = 0
  for (const row of rows) events += row.count
  return events
}

/**
 * Denials (the events logged as warnings) are counted per (event, address, minute): a flood of
 * them is what an attacker sends, and one row with its count says all the trail needs. Granted
 * actions (info) are each kept whole: two admin actions in a minute, or a class signing in behind
 * one address, are different people doing different things, and the trail must say who did what.
 */
export function coalesces(event: SecurityEventName): boolean {
  return SECURITY_EVENT_LEVEL[event] === 'warning'
}

function serialiseExtra(extra: Record<string, unknown>): string {
  let json: string
  try {
    json = JSON.stringify(redactSecrets(extra))
  } catch {
    return JSON.stringify({ unserialisable: true }) // a BigInt or the like: the log line has it
  }
  return json.length > MAX_EXTRA_JSON_CHARS ? TRUNCATED_EXTRA : json
}

/**
 * The audit trail's writer: security events go into a small in-process buffer and are written in
 * batches, off the request path. A flood of one denial from one address within a minute is one
 * row whose count goes up; the database's upsert carries that on across batches and instances.
 * A granted action is a row of its own, with its own request id, user and extra (see coalesces).
 * Bounded: if the database is slow or down, rows beyond maxPendingRows, and a batch whose write
 * fails, are dropped and counted in one `audit_events_dropped` warning per reason and interval,
 * so requests never wait and memory never grows. A failed batch is not retried: a database that
 * is down would otherwise have the buffer fill with retries instead of new events.
 */
export function createAuditWriter(deps: AuditWriterDeps): AuditWriter {
  const { repository, clock, logger } = deps
  const timers = deps.timers ?? systemTimers
  const flushIntervalMs = deps.flushIntervalMs ?? AUDIT_WRITER_DEFAULTS.flushIntervalMs
  const batchRows = deps.batchRows ?? AUDIT_WRITER_DEFAULTS.batchRows
  const maxPendingRows = deps.maxPendingRows ?? AUDIT_WRITER_DEFAULTS.maxPendingRows
  const closeTimeoutMs = deps.closeTimeoutMs ?? AUDIT_WRITER_DEFAULTS.closeTimeoutMs

  // Insertion order is event order, so a batch takes the oldest rows first.
  const pending = new Map<string, NewAuditRow>()
  let writing: Promise<void> | null = null
  let timer: unknown = null
  let closed = false
  const dropped: Record<DropReason, number> = { buffer_full: 0, write_failed: 0, shutdown: 0 }
  let lastWriteError: string | null = null
  /** Events in the batch being written: lost too if closing cannot wait for it. */
  let writingEvents = 0
  let totalDropped = 0

  function drop(reason: DropReason, events: number) {
    dropped[reason] += events
    totalDropped += events
  }

  /** One warning per reason with the events dropped since the last one. */
  function reportDrops() {
    for (const reason of Object.keys(dropped) as DropReason[]) {
      const events = dropped[reason]
      if (events === 0) continue
      dropped[reason] = 0
      logEvent(logger, 'warning', 'audit_events_dropped', {
        extra: {
          reason,
          dropped: events,
          total_dropped: totalDropped,
          ...(reason === 'write_failed' && lastWriteError !== null ? { error: lastWriteError } : {}),
        },
      })
    }
  }

  function takeBatch(): NewAuditRow[] {
    const batch: NewAuditRow[] = []
    for (const [key, row] of pending) {
      if (batch.length === batchRows) break
      pending.delete(key)
      batch.push(row)
    }
    return batch
  }

  async function writeAll(): Promise<void> {
    while (pending.size > 0) {
      const batch = takeBatch()
      writingEvents = eventsIn(batch)
      try {
        await repository.write(batch)
      } catch (error) {
        lastWriteError = error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200)
        drop('write_failed', writingEvents)
      } finally {
        writingEvents = 0
      }
    }
  }

  /** One writing run at a time; a call during a run gets that run. */
  function writeOnce(): Promise<void> {
    writing ??= writeAll().finally(() => {
      writing = null
      reportDrops()
    })
    return writing
  }

  async function flush(): Promise<void> {
    // An event recorded while a run was finishing is written by the next one.
    while (writing !== null || pending.size > 0) await writeOnce()
  }

  function tick() {
    timer = null
    if (closed) return
    if (writing === null) void writeOnce()
    else reportDrops() // the database is slow: say what was dropped meanwhile anyway
    timer = timers.setTimeout(tick, flushIntervalMs)
  }

  return {
    record(entry) {
      if (closed) return drop('shutdown', 1)
      const timestamp = clock.now()
      const minute = Math.floor(timestamp / MINUTE_MS) * MINUTE_MS
      // A random id rather than the request id: one request may log the same action twice.
      const occurrence = coalesces(entry.event) ? COALESCED : randomUUID()
      const key = `${entry.event}\n${entry.remoteAddr}\n${minute}\n${occurrence}`
      const row = pending.get(key)
      if (row !== undefined) {
        row.count += 1
        return
      }
      if (pending.size >= maxPendingRows) return drop('buffer_full', 1)
      pending.set(key, {
        timestamp,
        minute,
        event: entry.event,
        user_id: entry.userId,
        remote_addr: entry.remoteAddr,
        request_id: entry.requestId,
        count: 1,
        extra: serialiseExtra(entry.extra),
        occurrence,
      })
      if (pending.size >= batchRows && writing === null) queueMicrotask(() => void writeOnce())
    },
    flush,
    start() {
      if (timer === null && !closed) timer = timers.setTimeout(tick, flushIntervalMs)
    },
    async close() {
      if (closed) return
      closed = true
      if (timer !== null) timers.clearTimeout(timer)
      timer = null
      let deadline: unknown
      const timedOut = new Promise<void>((resolve) => {
        deadline = timers.setTimeout(resolve, closeTimeoutMs)
      })
      await Promise.race([flush(), timedOut])
      timers.clearTimeout(deadline)
      // A database that never answered: what is still waiting, and the batch it was given (whose
      // fate is unknown), are counted as lost.
      drop('shutdown', writingEvents + eventsIn(pending.values()))
      writingEvents = 0
      pending.clear()
      reportDrops()
    },
    pendingRows: () => pending.size,
  }
}

const SECURITY_EVENT_NAMES = new Set<string>(SECURITY_EVENTS)

/** Extra fields that name the account an event is about when nobody is signed in (a failed login, a reset). */
const AFFECTED_USER_KEYS = ['attempted_user_id', 'target_user_id'] as const

/**
 * The user a row is filed under: the log line's `user_id` (who was signed in), else the account
 * the event was about (a failed sign-in's or a reset's), so an account's trail shows attempts on it.
 */
export function auditUserOf(fields: EventFields): number | null {
  if (typeof fields.user_id === 'number') return fields.user_id
  for (const key of AFFECTED_USER_KEYS) {
    const value = fields.extra?.[key]
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_USER_ID) return value
  }
  return null
}

/** Hands every security event of a request to the writer, as its log line has it. */
export function auditObserver(writer: Pick<AuditWriter, 'record'>): RequestObserver {
  return {
    event(req: FastifyRequest, event, fields) {
      if (!SECURITY_EVENT_NAMES.has(event)) return
      writer.record({
        event: event as SecurityEventName,
        userId: auditUserOf(fields),
        remoteAddr: req.ip ?? '',
        requestId: req.id,
        extra: fields.extra ?? {},
      })
    },
  }
}
