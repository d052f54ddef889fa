import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { POLICY_KEY_KIND, ROUTE_POLICIES, type RoutePolicyName } from './policies.ts'
import type { Decision } from './policy-limiter.ts'
import { createRateLimits, type RateLimits, type RateLimitsDeps } from './service.ts'
import { clientKey } from '../client-key.ts'
import { appendRouteHook, requestHook, sendHook } from '../../http/hooks.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The rate-limit policy of the route: `config: { rateLimit: 'login' }`. */
    rateLimit?: RoutePolicyName
  }
  interface FastifyInstance {
    rateLimits: RateLimits
  }
  interface FastifyRequest {
    /** What the route's policy decided for this request; null when it counted nothing. */
    rateLimitDecision: Decision | null
  }
}

/** GET, HEAD and OPTIONS are never limited by these policies (CONTRACT §5), whatever a route declares. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const SIGNED_IN_ACCESS = new Set(['user', 'instructor', 'admin'])

/** What the policy counts this request by: its client key, or its signed-in user (null when anonymous). */
function counterValue(policy: RoutePolicyName, req: FastifyRequest): string | null {
  if (POLICY_KEY_KIND[policy] === 'user') return req.user === null ? null : String(req.user.id)
  // req.ip is undefined only when the socket is already gone: one shared key, never a crash.
  return clientKey(req.ip ?? '')
}

function sendLimitHeaders(reply: FastifyReply, decision: Decision) {
  reply.header('RateLimit-Limit', String(decision.limit))
  reply.header('RateLimit-Remaining', String(decision.remaining))
  reply.header('RateLimit-Reset', String(decision.resetSeconds))
}

/**
 * The policies routes declare, enforced in onRequest: before the body is read (a refused
 * upload costs nothing), after the session (the avatar policy counts per user) and the CSRF
 * check (a forged request is refused before it can use up anybody's attempts: docs/adr/0010).
 */
export const rateLimits = fp(
  async (app: FastifyInstance, opts: RateLimitsDeps) => {
    const limits = createRateLimits(opts)
    app.decorate('rateLimits', limits)
    app.decorateRequest('rateLimitDecision', null)
    app.addHook('onClose', async () => limits.close())

    const policyOf = (req: FastifyRequest) =>
      SAFE_METHODS.has(req.method) ? undefined : req.routeOptions.config?.rateLimit

    const enforce = requestHook(
      (req) => policyOf(req) !== undefined,
      async (req, reply) => {
        const policy = policyOf(req)!
        const value = counterValue(policy, req)
        if (value === null) return
        const decision = await limits.consume(policy, value)
        req.rateLimitDecision = decision
        sendLimitHeaders(reply, decision)
        if (!decision.allowed) throw limits.refuse(req, policy, value, decision)
      },
    )

    // A request refused before this layer (a CSRF failure) counted nothing, yet its response
    // reports the route's limits like every other response of the route.
    const report = sendHook(
      (req) => policyOf(req) !== undefined && req.rateLimitDecision === null,
      async (req, reply, payload) => {
        const policy = policyOf(req)!
        const value = counterValue(policy, req)
        if (value === null) return payload
        try {
          sendLimitHeaders(reply, await limits.policies[policy].peek(value))
        } catch {
          // Only informational here: the response is already decided and goes out as it is.
        }
        return payload
      },
    )

    // The hooks go on the routes that declare a policy, so the others do not run them at all.
    // Route hooks run after the app's (sessions, CSRF) of the same stage, which is the order
    // above. A mistake in a declaration is a start-up error. onRoute sees only the routes added
    // after this plugin, which is why app.ts registers every route module after it.
    app.addHook('onRoute', (route) => {
      const policy = route.config?.rateLimit
      if (policy === undefined) return
      const where = `Route ${String(route.method)} ${route.url}`
      if (!ROUTE_POLICIES.includes(policy)) throw new Error(`${where}: unknown rate-limit policy "${policy}"`)
      // An anonymous request has no user to count by; it must be refused (401) by access control.
      if (POLICY_KEY_KIND[policy] === 'user' && !SIGNED_IN_ACCESS.has(route.config?.access ?? 'public')) {
        throw new Error(`${where}: the per-user rate-limit policy "${policy}" needs access 'user' or above`)
      }
      appendRouteHook(route, 'onRequest', enforce)
      appendRouteHook(route, 'onSend', report)
    })
  },
  { name: 'rate-limits' },
)
