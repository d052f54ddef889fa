import { badRequest } from '../../http/errors.ts'
import { decodeCursor, encodeCursor } from './audit-cursor.ts'
import type { AuditFilters, AuditPosition, AuditRecord, AuditRepository } from './audit.repository.ts'

export const DEFAULT_AUDIT_PAGE_ROWS = 100
export const MAX_AUDIT_PAGE_ROWS = 500
/** A CSV download holds at most this many rows; a `Link: rel="next"` header continues after them. */
export const MAX_AUDIT_CSV_ROWS = 5000

export const INVALID_CURSOR_MESSAGE = 'Invalid cursor'
export const EMPTY_WINDOW_MESSAGE = 'until must be later than since'

export interface AuditPage {
  events: AuditRecord[]
  /** The cursor of the next page; null when this page holds the last row. */
  next: string | null
}

/** A timestamp filter as milliseconds, or a 400 naming the parameter. */
export function timestampFilter(value: string | undefined, name: 'since' | 'until'): number | undefined {
  if (value === undefined) return undefined
  const ms = Date.parse(value)
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an ISO 8601 timestamp`)
  return ms
}

/** The audit trail as admins read it: filtered pages, newest first, and CSV downloads. */
export function createAuditService(deps: { repository: Pick<AuditRepository, 'list'> }) {
  const { repository } = deps

  function positionOf(before: string | undefined): AuditPosition | null {
    if (before === undefined) return null
    const position = decodeCursor(before)
    if (position === null) throw badRequest(INVALID_CURSOR_MESSAGE)
    return position
  }

  function checkWindow(filters: AuditFilters) {
    if (filters.sinceMs !== undefined && filters.untilMs !== undefined && filters.untilMs <= filters.sinceMs) {
      throw badRequest(EMPTY_WINDOW_MESSAGE)
    }
  }

  async function page(filters: AuditFilters, before: AuditPosition | null, limit: number): Promise<AuditPage> {
    // One row more than asked says whether another page exists, without counting.
    const rows = await repository.list({ filters, before, limit: limit + 1 })
    const events = rows.slice(0, limit)
    const last = events.at(-1)
    return { events, next: rows.length > limit && last ? encodeCursor(last) : null }
  }

  return {
    /**
     * One page. The cursor is the last row's (timestamp, id), and the next page starts strictly
     * after it in that order: rows sharing a timestamp are neither repeated nor skipped.
     */
    list(opts: { filters: AuditFilters; before?: string; limit?: number }): Promise<AuditPage> {
      checkWindow(opts.filters)
      const limit = Math.min(opts.limit ?? DEFAULT_AUDIT_PAGE_ROWS, MAX_AUDIT_PAGE_ROWS)
      return page(opts.filters, positionOf(opts.before), limit)
    },

    /** Every matching row from `before` on, up to MAX_AUDIT_CSV_ROWS, read a page at a time. */
    async exportRows(opts: { filters: AuditFilters; before?: string }): Promise<AuditPage> {
      checkWindow(opts.filters)
      let position = positionOf(opts.before)
      const events: AuditRecord[] = []
      for (;;) {
        const rows = Math.min(MAX_AUDIT_PAGE_ROWS, MAX_AUDIT_CSV_ROWS - events.length)
        const result = await page(opts.filters, position, rows)
        events.push(...result.events)
        if (result.next === null || events.length >= MAX_AUDIT_CSV_ROWS) return { events, next: result.next }
        position = decodeCursor(result.next)
      }
    },
  }
}

export type AuditService = ReturnType<typeof createAuditService>
