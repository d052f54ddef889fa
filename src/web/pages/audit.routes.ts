import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SECURITY_EVENTS } from '../../logging/events.ts'
import type { AuditFilters } from '../../modules/audit/audit.repository.ts'
import { presentAuditEvent } from '../../modules/audit/audit.presenter.ts'
import { MAX_USER_ID } from '../../modules/audit/audit.schemas.ts'
import type { AuditService } from '../../modules/audit/audit.service.ts'
import { noteFormProblem } from '../forms.ts'
import type { Pages } from '../page.ts'

export interface AuditPagesOptions {
  pages: Pages
  audit: AuditService
}

const EVENTS_PER_PAGE = 50
const FILTER_NAMES = ['event', 'user_id', 'since', 'until'] as const
type FilterName = (typeof FILTER_NAMES)[number]
const MAX_FILTER_CHARS = 64

/**
 * What a person types as a time: an ISO 8601 date, or date and time with or without seconds and
 * zone; without a zone it is UTC (the times on the page are UTC too).
 */
const TIME_INPUT = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?)?$/i

export function parseTimeInput(value: string): number | null {
  const match = TIME_INPUT.exec(value.trim())
  if (!match) return null
  const [, date, time, zone] = match
  const ms = Date.parse(time === undefined ? `${date}T00:00:00Z` : `${date}T${time}${(zone ?? 'Z').toUpperCase()}`)
  return Number.isFinite(ms) ? ms : null
}

interface ReadFilters {
  /** What the form shows again: the query's own strings. */
  values: Record<FilterName, string>
  filters: AuditFilters
  problem: string | null
}

/** The page's GET form: an empty field is no filter; a wrong one is said on the page (400). */
function readFilters(req: FastifyRequest): ReadFilters {
  const query = req.query as Record<string, unknown>
  const text = (name: string) =>
    typeof query[name] === 'string' ? (query[name] as string).trim().slice(0, MAX_FILTER_CHARS) : ''
  const values = Object.fromEntries(FILTER_NAMES.map((name) => [name, text(name)])) as Record<FilterName, string>
  const filters: AuditFilters = {}
  const problems: string[] = []
  if (values.event !== '') {
    if ((SECURITY_EVENTS as readonly string[]).includes(values.event)) filters.event = values.event
    else problems.push('Choose an event from the list.')
  }
  if (values.user_id !== '') {
    const id = /^\d{1,10}$/.test(values.user_id) ? Number(values.user_id) : 0
    if (id >= 1 && id <= MAX_USER_ID) filters.userId = id
    else problems.push('A user id is a whole number, 1 or more.')
  }
  for (const [name, key, label] of [
    ['since', 'sinceMs', 'From'],
    ['until', 'untilMs', 'Until'],
  ] as const) {
    if (values[name] === '') continue
    const ms = parseTimeInput(values[name])
    if (ms === null) problems.push(`${label}: a date like 2026-01-15 or a time like 2026-01-15T09:30Z.`)
    else filters[key] = ms
  }
  if (filters.sinceMs !== undefined && filters.untilMs !== undefined && filters.untilMs <= filters.sinceMs) {
    problems.push('Until must be later than From.')
  }
  return { values, filters, problem: problems.length === 0 ? null : problems.join(' ') }
}

/** The page's filters, as a query string for the next page (the form's own words). */
function pageQuery(values: Record<FilterName, string>, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams()
  for (const name of FILTER_NAMES) if (values[name] !== '') params.set(name, values[name])
  for (const [name, value] of Object.entries(extra)) params.set(name, value)
  const query = params.toString()
  return query === '' ? '' : `?${query}`
}

/** The same filters for the API's CSV download (times as the API takes them, ISO 8601 in UTC). */
function csvQuery(filters: AuditFilters): string {
  const params = new URLSearchParams({ format: 'csv' })
  if (filters.event !== undefined) params.set('event', filters.event)
  if (filters.userId !== undefined) params.set('user_id', String(filters.userId))
  if (filters.sinceMs !== undefined) params.set('since', new Date(filters.sinceMs).toISOString())
  if (filters.untilMs !== undefined) params.set('until', new Date(filters.untilMs).toISOString())
  return `?${params.toString()}`
}

/**
 * `/admin/audit` (admins): the audit trail with the API's filters as a GET form, newest first,
 * a page at a time, and a CSV download of the same selection. Works without JavaScript.
 */
export async function auditPages(app: FastifyInstance, opts: AuditPagesOptions) {
  const { pages, audit } = opts

  app.get('/admin/audit', { config: { access: 'admin', html: true } }, async (req, reply) => {
    const { values, filters, problem } = readFilters(req)
    const before = (req.query as Record<string, unknown>).before
    const cursor = typeof before === 'string' && before !== '' ? before : undefined
    if (problem !== null) noteFormProblem(req, problem)
    const page =
      problem === null
        ? await audit.list({ filters, before: cursor, limit: EVENTS_PER_PAGE })
        : { events: [], next: null }
    return pages.send(
      req,
      reply,
      'admin-audit',
      {
        values,
        eventNames: SECURITY_EVENTS,
        problem,
        events: page.events.map((record) => {
          const view = presentAuditEvent(record)
          return { ...view, extraText: JSON.stringify(view.extra) }
        }),
        paged: cursor !== undefined,
        firstUrl: `/admin/audit${pageQuery(values)}`,
        nextUrl: page.next === null ? null : `/admin/audit${pageQuery(values, { before: page.next })}`,
        csvUrl: `/api/admin/audit-events${csvQuery(filters)}`,
      },
      { title: 'Audit trail', status: problem === null ? 200 : 400 },
    )
  })
}
