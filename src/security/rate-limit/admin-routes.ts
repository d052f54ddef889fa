import type { FastifyInstance } from 'fastify'
import { notFound } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'

const KEY_MAX_CHARS = 200

/**
 * Current rate-limit blocks for admins, the API twin of `lectern rate-limits`:
 * `GET /api/admin/rate-limits` → `{"blocks": [{key, policy, key_kind, resets_in_seconds}]}`,
 * `DELETE /api/admin/rate-limits/:key` (URL-encoded; `username:NAME` for a username's failed
 * logins) → 204 or 404, `DELETE /api/admin/rate-limits` → `{"cleared": N}`.
 */
export async function rateLimitAdminRoutes(app: FastifyInstance) {
  const admin = { access: 'admin' } as const

  app.get('/api/admin/rate-limits', { config: admin }, async () => ({ blocks: await app.rateLimits.blocks.list() }))

  app.delete<{ Params: { key: string } }>(
    '/api/admin/rate-limits/:key',
    {
      config: admin,
      schema: {
        params: {
          type: 'object',
          properties: { key: { type: 'string', minLength: 1, maxLength: KEY_MAX_CHARS } },
          required: ['key'],
        },
      },
    },
    async (req, reply) => {
      const cleared = await app.rateLimits.blocks.clear(req.params.key)
      securityEvent(req, 'admin_action', { action: 'rate_limit_clear', key: req.params.key, cleared })
      if (!cleared) throw notFound('No such rate-limit block')
      return reply.code(204).send()
    },
  )

  app.delete('/api/admin/rate-limits', { config: admin }, async (req) => {
    const cleared = await app.rateLimits.blocks.clearAll()
    securityEvent(req, 'admin_action', { action: 'rate_limit_clear_all', cleared })
    return { cleared }
  })
}
