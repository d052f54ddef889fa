import { csvLine } from './audit-csv.ts'
import type { AuditRecord } from './audit.repository.ts'

export interface AuditEventView {
  id: number
  timestamp: string
  event: string
  user_id: number | null
  username: string | null
  remote_addr: string
  request_id: string | null
  count: number
  extra: Record<string, unknown>
}

function parsedExtra(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json)
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

/** CONTRACT §13: one event of GET /api/admin/audit-events. */
export function presentAuditEvent(record: AuditRecord): AuditEventView {
  return {
    id: record.id,
    timestamp: new Date(record.timestamp).toISOString(),
    event: record.event,
    user_id: record.user_id,
    username: record.username,
    remote_addr: record.remote_addr,
    request_id: record.request_id,
    count: record.count,
    extra: parsedExtra(record.extra),
  }
}

export const AUDIT_CSV_COLUMNS = [
  'id',
  'timestamp',
  'event',
  'user_id',
  'username',
  'remote_addr',
  'request_id',
  'count',
  'extra',
] as const

/** The rows as CSV with a header row; `extra` is its JSON text. */
export function auditCsv(records: readonly AuditRecord[]): string {
  let csv = csvLine(AUDIT_CSV_COLUMNS)
  for (const record of records) {
    csv += csvLine([
      record.id,
      new Date(record.timestamp).toISOString(),
      record.event,
      record.user_id,
      record.username,
      record.remote_addr,
      record.request_id,
      record.count,
      record.extra,
    ])
  }
  return csv
}
