import type { FastifyInstance } from 'fastify'
import type { AuditFilters } from './audit.repository.ts'
import { auditCsv, presentAuditEvent } from './audit.presenter.ts'
import { auditEventsQuerySchema, auditEventsResponseSchema, type AuditEventsQuery } from './audit.schemas.ts'
import { timestampFilter, type AuditService } from './audit.service.ts'

export interface AuditRoutesOptions {
  audit: AuditService
}

export function auditFiltersOf(query: Pick<AuditEventsQuery, 'event' | 'user_id' | 'since' | 'until'>): AuditFilters {
  return {
    ...(query.event === undefined ? {} : { event: query.event }),
    ...(query.user_id === undefined ? {} : { userId: query.user_id }),
    ...(query.since === undefined ? {} : { sinceMs: timestampFilter(query.since, 'since') }),
    ...(query.until === undefined ? {} : { untilMs: timestampFilter(query.until, 'until') }),
  }
}

/** The query string of a CSV download continuing after `next`, with the same filters. */
function nextCsvUrl(url: string, next: string): string {
  const parsed = new URL(url, 'http://lectern.invalid')
  parsed.searchParams.set('before', next)
  return `${parsed.pathname}${parsed.search}`
}

/**
 * CONTRACT §13 "Audit trail": GET /api/admin/audit-events (admin). The access check comes first
 * (authz.ts, in onRequest), the query's validation after it: a stranger learns nothing from a 400.
 */
export async function auditRoutes(app: FastifyInstance, opts: AuditRoutesOptions) {
  const { audit } = opts
  app.get<{ Querystring: AuditEventsQuery }>(
    '/audit-events',
    {
      config: { access: 'admin' },
      schema: { querystring: auditEventsQuerySchema, response: { 200: auditEventsResponseSchema } },
    },
    async (req, reply) => {
      const { query } = req
      const filters = auditFiltersOf(query)
      // The trail names people and addresses: no cache along the way keeps a copy.
      reply.header('Cache-Control', 'no-store')
      if (query.format === 'csv') {
        const { events, next } = await audit.exportRows({ filters, before: query.before })
        if (next !== null) reply.header('Link', `<${nextCsvUrl(req.url, next)}>; rel="next"`)
        return reply
          .header('Content-Disposition', 'attachment; filename="lectern-audit-events.csv"')
          .type('text/csv; charset=utf-8')
          .send(auditCsv(events))
      }
      const page = await audit.list({ filters, before: query.before, limit: query.limit })
      return { events: page.events.map(presentAuditEvent), next: page.next }
    },
  )
}
