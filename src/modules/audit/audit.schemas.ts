import { SECURITY_EVENTS, type SecurityEventName } from '../../logging/events.ts'
import { DEFAULT_AUDIT_PAGE_ROWS, MAX_AUDIT_PAGE_ROWS } from './audit.service.ts'

/** PostgreSQL's integer: a larger user id cannot exist, and comparing with one would be an error there. */
export const MAX_USER_ID = 2_147_483_647

/** Unknown query parameters are ignored, as in the admin user listing (a cache-buster must not break it). */
export const auditEventsQuerySchema = {
  type: 'object',
  properties: {
    event: { type: 'string', enum: SECURITY_EVENTS, description: 'one security event name' },
    user_id: { type: 'integer', minimum: 1, maximum: MAX_USER_ID },
    since: { type: 'string', format: 'date-time', description: 'events at or after this time' },
    until: { type: 'string', format: 'date-time', description: 'events before this time' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_AUDIT_PAGE_ROWS, default: DEFAULT_AUDIT_PAGE_ROWS },
    before: { type: 'string', description: 'the `next` cursor of the previous page' },
    format: {
      type: 'string',
      enum: ['json', 'csv'],
      default: 'json',
      description: 'csv: text/csv, every matching row from `before` on, at most 5,000 (Link: rel="next" for more)',
    },
  },
} as const

export interface AuditEventsQuery {
  event?: SecurityEventName
  user_id?: number
  since?: string
  until?: string
  limit: number
  before?: string
  format: 'json' | 'csv'
}

const AUDIT_EVENT_VIEW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'timestamp', 'event', 'user_id', 'username', 'remote_addr', 'request_id', 'count', 'extra'],
  properties: {
    id: { type: 'integer' },
    timestamp: { type: 'string', description: 'ISO 8601, of the first event the row stands for' },
    event: { type: 'string' },
    user_id: { type: ['integer', 'null'] },
    username: { type: ['string', 'null'] },
    remote_addr: { type: 'string' },
    request_id: { type: ['string', 'null'] },
    count: { type: 'integer', description: 'events of this name from this address in this minute' },
    extra: { type: 'object', additionalProperties: true },
  },
} as const

export const auditEventsResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['events', 'next'],
  properties: {
    events: { type: 'array', items: AUDIT_EVENT_VIEW_SCHEMA },
    next: { type: ['string', 'null'] },
  },
} as const
