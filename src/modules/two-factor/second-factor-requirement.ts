import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Require2faFor } from '../../config/index.ts'
import { forbidden } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import { securityEvent } from '../../http/request-context.ts'
import { seeOther } from '../../web/page.ts'
import type { SecondFactors } from './second-factors.ts'

export const TWO_FACTOR_REQUIRED_MESSAGE = 'Two-factor authentication required'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route stays open to an account that must still set up a second factor (REQUIRE_2FA_FOR):
     * `/api/me`, `/api/logout`, `/api/2fa/*`, `/api/passkeys*` and the pages that set one up.
     */
    secondFactorSetup?: boolean
  }
}

/** Which roles REQUIRE_2FA_FOR covers: `staff` is admins and instructors. */
export function rolesRequiringSecondFactor(setting: Require2faFor): ReadonlySet<RequestUser['role']> {
  if (setting === 'admin') return new Set(['admin'])
  if (setting === 'staff') return new Set(['admin', 'instructor'])
  return new Set()
}

export interface SecondFactorRequirementOptions {
  requiredFor: Require2faFor
  /**
   * The account's second factors, asked at request time: the services that know them are built
   * after this layer (app.ts), and no request arrives before they are.
   */
  secondFactors: () => Pick<SecondFactors, 'enabled'>
}

/**
 * REQUIRE_2FA_FOR (CONTRACT §11), one policy for the whole pipeline: a signed-in account of a
 * covered role without a second factor gets 403 from the API and is sent to the profile's set-up
 * from the pages, except on the routes that declare `secondFactorSetup`. It runs in onRequest
 * right after authorization: before the rate limits count anything and before any body is read
 * or validated, so a refused request's body is never looked at.
 */
export const secondFactorRequirement = fp(
  async (app: FastifyInstance, opts: SecondFactorRequirementOptions) => {
    const roles = rolesRequiringSecondFactor(opts.requiredFor)
    if (roles.size === 0) return

    const concerns = (req: FastifyRequest): req is FastifyRequest & { user: RequestUser } =>
      req.user !== null && roles.has(req.user.role) && req.routeOptions.config.secondFactorSetup !== true
    // The API is every route under /api (the contract's words); a page is a route that declares `html`.
    const isApi = (req: FastifyRequest) => (req.routeOptions.url ?? '').startsWith('/api/')
    const isPage = (req: FastifyRequest) => req.routeOptions.config.html === true

    app.addHook('onRequest', async (req, reply) => {
      if (!concerns(req) || !(isApi(req) || isPage(req))) return
      if (await opts.secondFactors().enabled(req.user.id)) return
      securityEvent(req, 'permission_denied', { reason: 'second_factor_required', role: req.user.role })
      if (isApi(req)) throw forbidden(TWO_FACTOR_REQUIRED_MESSAGE)
      return seeOther(reply, '/profile/two-factor', 'two-factor-required')
    })
  },
  { name: 'second-factor-requirement', dependencies: ['sessions', 'authorization'] },
)
