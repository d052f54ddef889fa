import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import {
  counterKey,
  PASSWORD_CHECKS_ONLY,
  POLICY_KEY_KIND,
  ROUTE_POLICIES,
  type PolicyName,
  type RoutePolicyName,
} from './policies.ts'
import type { Decision } from './policy-limiter.ts'
import { createInFlightGate } from './in-flight.ts'
import {
  createRateLimits,
  type RateLimits,
  type RateLimitsDeps,
  type Reservation,
  type ReserveResult,
} from './service.ts'
import { clientKey } from '../client-key.ts'
import { appendRouteHook, requestHook, sendHook } from '../../http/hooks.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The rate-limit policy (or policies) of the route: `config: { rateLimit: 'login' }`. */
    rateLimit?: RoutePolicyName | readonly RoutePolicyName[]
    /**
     * A form for people (sign-in, registration) whose 429 shows the form again with what was
     * typed: the attempt is still counted before the body is read, but the refusal is thrown once
     * the (small, urlencoded) body is parsed, so the error page has the typed values to keep.
     */
    keepFormWhenLimited?: boolean
    /**
     * Requests the route's limits do not apply to, judged once the body is parsed: a refusal is
     * held until then and dropped (its attempt given back) when this answers true. Registration
     * waives the limit for an invitation that works (CONTRACT §5: those are not counted), so a
     * class registering at once is never refused, while bad tokens stay limited.
     */
    rateLimitWaiver?: (req: FastifyRequest) => Promise<boolean>
  }
  interface FastifyInstance {
    rateLimits: RateLimits
  }
  interface FastifyRequest {
    /** What the route's policies decided for this request (the tightest); null when they counted nothing. */
    rateLimitDecision: Decision | null
    /** The attempts this request holds at its route's policies, until a handler gives them back. */
    rateLimitReservations: Reservation[] | null
    /**
     * Gives back the attempts the route's policies counted for this request: its handler calls
     * it when the request proved not to be a failure (a right password), since those policies
     * count failures only but must count them before the work they guard.
     */
    refundRateLimits(): Promise<void>
    /** The policy that refused this request with a 429 (which limit to explain on a page); null when none did. */
    rateLimitRefusedPolicy: PolicyName | null
    /** The counters this request holds an attempt of while it is in flight (in-flight.ts); null once settled. */
    rateLimitInFlight: string[] | null
  }
}

/** The decision a client should see among several: the one with the fewest attempts left. */
function tightest(reservations: readonly Reservation[]): Decision | null {
  let decision: Decision | null = null
  for (const reservation of reservations) {
    if (decision === null || reservation.decision.remaining < decision.remaining) decision = reservation.decision
  }
  return decision
}

function declaredPolicies(
  declared: RoutePolicyName | readonly RoutePolicyName[] | undefined,
): readonly RoutePolicyName[] {
  if (declared === undefined) return []
  return typeof declared === 'string' ? [declared] : declared
}

/** Whether the route's refusals wait for its body (see keepFormWhenLimited and rateLimitWaiver). */
function defersRefusals(config: { keepFormWhenLimited?: boolean; rateLimitWaiver?: unknown } | undefined): boolean {
  return config?.keepFormWhenLimited === true || config?.rateLimitWaiver !== undefined
}

/**
 * How long a request waits for attempts of its counter still in flight on this instance before
 * it is counted and, if the limit is full, refused (in-flight.ts): long enough for a class's
 * sign-ins to be verified a few at a time, short of any client's patience.
 */
export const IN_FLIGHT_WAIT_MS = 15_000

/** GET, HEAD and OPTIONS are never limited by these policies (CONTRACT §5), whatever a route declares. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const SIGNED_IN_ACCESS = new Set(['user', 'instructor', 'admin'])

/** What the policy counts this request by: its client key, or its signed-in user (null when anonymous). */
function counterValue(policy: RoutePolicyName, req: FastifyRequest): string | null {
  if (POLICY_KEY_KIND[policy] === 'user') return req.user === null ? null : String(req.user.id)
  // req.ip is undefined only when the socket is already gone: one shared key, never a crash.
  return clientKey(req.ip ?? '')
}

/** RateLimit-Limit, -Remaining and -Reset of a decision (also sent by services' own limits, e.g. two-factor codes). */
export function sendLimitHeaders(reply: FastifyReply, decision: Decision) {
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
    app.decorateRequest('rateLimitReservations', null)
    app.decorateRequest('rateLimitRefusedPolicy', null)
    app.decorateRequest('rateLimitInFlight', null)
    const gate = createInFlightGate()
    const settleInFlight = (req: FastifyRequest) => {
      if (req.rateLimitInFlight === null) return
      gate.release(req.rateLimitInFlight)
      req.rateLimitInFlight = null
    }
    app.addHook('onResponse', async (req) => settleInFlight(req))
    app.addHook('onRequestAbort', async (req) => settleInFlight(req))
    app.decorateRequest('refundRateLimits', async function refundRateLimits(this: FastifyRequest) {
      const held = this.rateLimitReservations
      if (held === null) return
      this.rateLimitReservations = null
      await limits.refund(held)
      settleInFlight(this)
      for (const reservation of held) {
        const { decision } = reservation
        reservation.decision = { ...decision, remaining: Math.min(decision.remaining + 1, decision.limit) }
      }
      this.rateLimitDecision = tightest(held)
    })
    app.addHook('onClose', async () => limits.close())

    const policiesOf = (req: FastifyRequest): readonly RoutePolicyName[] =>
      SAFE_METHODS.has(req.method) ? [] : declaredPolicies(req.routeOptions.config?.rateLimit)

    const enforce = requestHook(
      (req) => policiesOf(req).length > 0,
      async (req) => {
        const wanted: Array<[RoutePolicyName, string]> = []
        for (const policy of policiesOf(req)) {
          const value = counterValue(policy, req)
          if (value !== null) wanted.push([policy, value])
        }
        if (wanted.length === 0) return
        const { granted, refused } = await reserveAfterInFlight(req, wanted)
        if (refused) {
          if (defersRefusals(req.routeOptions.config)) {
            deferredRefusals.set(req, refused)
            return
          }
          throw limits.refuse(req, refused.policy, refused.value, refused.decision)
        }
        req.rateLimitReservations = granted
        req.rateLimitDecision = tightest(granted)
      },
    )

    /**
     * Reserves the attempts, but first, while a counter is full and attempts of it are still in
     * flight here, waits for one of them to settle (given back by a right password, or kept by a
     * failure) and looks again: a look and a count happen one request at a time per counter.
     */
    async function reserveAfterInFlight(
      req: FastifyRequest,
      wanted: ReadonlyArray<readonly [RoutePolicyName, string]>,
    ): Promise<ReserveResult> {
      const keys = wanted.map(([policy, value]) => counterKey(policy, value))
      const deadlineMs = gate.now() + IN_FLIGHT_WAIT_MS
      let outcome: ReserveResult | null = null
      for (;;) {
        const waitFor = await gate.serially(keys, async () => {
          if (gate.now() < deadlineMs) {
            for (const [index, [policy, value]] of wanted.entries()) {
              const key = keys[index]!
              if (gate.held(key) > 0 && !(await limits.policies[policy].peek(value)).allowed) return key
            }
          }
          outcome = await limits.reserve(wanted)
          if (outcome.refused === null) {
            gate.hold(keys)
            req.rateLimitInFlight = keys
          }
          return null
        })
        if (waitFor === null) return outcome!
        await gate.settled(waitFor, deadlineMs)
      }
    }

    // Refusals held until the body is parsed (forms that keep what was typed, routes with a
    // waiver): thrown then, before any handler works on the body, unless the waiver lets the
    // request through, in which case its refused attempt is given back.
    const deferredRefusals = new WeakMap<FastifyRequest, Reservation>()
    const settleDeferred = async (req: FastifyRequest) => {
      const refused = deferredRefusals.get(req)
      if (!refused) return
      deferredRefusals.delete(req)
      const waiver = req.routeOptions.config?.rateLimitWaiver
      if (waiver && (await waiver(req))) {
        await limits.refund([refused])
        return
      }
      throw limits.refuse(req, refused.policy, refused.value, refused.decision)
    }

    // A body its schema refused reached no password check: nothing to count (PASSWORD_CHECKS_ONLY).
    const refundUnchecked = async (req: FastifyRequest, _reply: FastifyReply, error: { validation?: unknown }) => {
      if (error.validation !== undefined) await req.refundRateLimits()
    }

    // Every response of a limited route reports its limits: what this request counted (after
    // any refund), or, for one refused before this layer (a CSRF failure), a look that counts nothing.
    const report = sendHook(
      (req) => policiesOf(req).length > 0,
      async (req, reply, payload) => {
        if (req.rateLimitDecision !== null) {
          sendLimitHeaders(reply, req.rateLimitDecision)
          return payload
        }
        const looks: Decision[] = []
        try {
          for (const policy of policiesOf(req)) {
            const value = counterValue(policy, req)
            if (value !== null) looks.push(await limits.policies[policy].peek(value))
          }
        } catch {
          // Only informational here: the response is already decided and goes out as it is.
        }
        const decision = looks.reduce<Decision | null>(
          (a, b) => (a === null || b.remaining < a.remaining ? b : a),
          null,
        )
        if (decision) sendLimitHeaders(reply, decision)
        return payload
      },
    )

    // The hooks go on the routes that declare a policy, so the others do not run them at all.
    // Route hooks run after the app's (sessions, CSRF) of the same stage, which is the order
    // above. A mistake in a declaration is a start-up error. onRoute sees only the routes added
    // after this plugin, which is why app.ts registers every route module after it.
    app.addHook('onRoute', (route) => {
      const policies = declaredPolicies(route.config?.rateLimit)
      if (policies.length === 0) return
      const where = `Route ${String(route.method)} ${route.url}`
      for (const policy of policies) {
        if (!ROUTE_POLICIES.includes(policy)) throw new Error(`${where}: unknown rate-limit policy "${policy}"`)
        // An anonymous request has no user to count by; it must be refused (401) by access control.
        if (POLICY_KEY_KIND[policy] === 'user' && !SIGNED_IN_ACCESS.has(route.config?.access ?? 'public')) {
          throw new Error(`${where}: the per-user rate-limit policy "${policy}" needs access 'user' or above`)
        }
      }
      appendRouteHook(route, 'onRequest', enforce)
      if (defersRefusals(route.config)) appendRouteHook(route, 'preValidation', settleDeferred)
      if (policies.every((policy) => PASSWORD_CHECKS_ONLY.has(policy)))
        appendRouteHook(route, 'onError', refundUnchecked)
      appendRouteHook(route, 'onSend', report)
    })
  },
  { name: 'rate-limits' },
)
