import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { forbidden, unauthorized } from '../http/errors.ts'
import { requestHook } from '../http/hooks.ts'
import { requestEvent } from '../http/request-context.ts'
import type { RequestUser } from '../http/request-context.ts'

/** What a route needs, declared on the route: `config: { access: 'instructor' }`. */
export type Access = 'public' | 'user' | 'instructor' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
}

export const ROLE_RANK: Readonly<Record<RequestUser['role'], number>> = { learner: 1, instructor: 2, admin: 3 }
const REQUIRED_RANK: Record<Exclude<Access, 'public'>, number> = { user: 1, instructor: 2, admin: 3 }

export function hasAccess(user: RequestUser | null, access: Access): boolean {
  if (access === 'public') return true
  return user !== null && ROLE_RANK[user.role] >= REQUIRED_RANK[access]
}

const ACCESS_LEVELS: ReadonlySet<string> = new Set<Access>(['public', 'user', 'instructor', 'admin'])

/**
 * The one place roles are enforced. Every route states its `access` (a route that does not
 * stops start-up: forgetting is not a way to publish one); this hook answers 401 to the
 * signed-out and 403 (logged as permission_denied) to the signed-in without the role.
 * It runs in onRequest, after the session and the CSRF header check: before the rate limits and
 * before any body is read or validated (a form's csrf_token field included), so a learner's
 * POST to an instructor route is a 403 whatever its body, and no form is ever redisplayed to
 * someone who may not use it.
 */
export const authorization = fp(
  async (app: FastifyInstance) => {
    // Requests no route matched (the 404 handler) have no declaration and need none.
    const accessOf = (req: FastifyRequest): Access => req.routeOptions.config.access ?? 'public'
    app.addHook('onRoute', (route) => {
      const access = route.config?.access
      if (access === undefined || !ACCESS_LEVELS.has(access)) {
        throw new Error(
          `Route ${String(route.method)} ${route.url}: declare who may call it, config.access ` +
            `'public' | 'user' | 'instructor' | 'admin' (got ${String(access)})`,
        )
      }
    })
    app.addHook(
      'onRequest',
      requestHook(
        (req) => !hasAccess(req.user, accessOf(req)),
        (req) => {
          if (req.user === null) throw unauthorized()
          requestEvent(req, 'warning', 'permission_denied', {
            extra: { required: accessOf(req), role: req.user.role, route: req.routeOptions.url },
          })
          throw forbidden()
        },
      ),
    )
  },
  { name: 'authorization' },
)

/**
 * The request of a route whose access requires a user, with that user typed as present (the
 * authorization hook has refused anonymous requests before any handler runs).
 */
export function signedIn<R extends FastifyRequest>(req: R): R & { user: RequestUser } {
  if (req.user === null) throw unauthorized()
  return req as R & { user: RequestUser }
}
