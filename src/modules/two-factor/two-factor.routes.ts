import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { badRequest, conflict, forbidden, unauthorized } from '../../http/errors.ts'
import { signedIn } from '../../security/authz.ts'
import { sendLimitHeaders } from '../../security/rate-limit/plugin.ts'
import { PASSWORD_CHECK_POLICIES } from '../accounts/accounts.routes.ts'
import { ACCOUNT_DISABLED_MESSAGE, WRONG_CURRENT_PASSWORD_MESSAGE } from '../accounts/accounts.service.ts'
import type { CredentialsService } from '../accounts/credentials.service.ts'
import { presentUser, USER_ENVELOPE_SCHEMA } from '../accounts/user.presenter.ts'
import {
  codeBodySchema,
  currentPasswordBodySchema,
  recoveryCodesResponseSchema,
  setupResponseSchema,
  type CodeBody,
  type CurrentPasswordBody,
} from './two-factor.schemas.ts'
import {
  INVALID_CODE_MESSAGE,
  NO_SETUP_MESSAGE,
  TWO_FACTOR_ALREADY_ON_MESSAGE,
  TWO_FACTOR_NOT_ON_MESSAGE,
  type TwoFactorService,
} from './two-factor.service.ts'

export interface TwoFactorRoutesOptions {
  twoFactor: TwoFactorService
  credentials: Pick<CredentialsService, 'confirmPassword'>
}

/** Set-up and management of the signed-in user's own TOTP: reachable before REQUIRE_2FA_FOR is met. */
const OWN_SETUP = { access: 'user', secondFactorSetup: true } as const

/** The second step's answers report RATE_LIMIT_2FA, counted per account by the service. */
async function reportCodeLimit(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (req.rateLimitDecision !== null) sendLimitHeaders(reply, req.rateLimitDecision)
  return payload
}

/** CONTRACT §11: TOTP, recovery codes and the second step of a sign-in, under /api. */
export async function twoFactorRoutes(app: FastifyInstance, opts: TwoFactorRoutesOptions) {
  const { twoFactor, credentials } = opts

  app.post(
    '/2fa/totp/setup',
    { schema: { response: { 200: setupResponseSchema } }, config: OWN_SETUP },
    async (req) => {
      const result = await twoFactor.setup(signedIn(req).user.id)
      if (result.status === 'no_account') throw unauthorized()
      if (result.status === 'already_on') throw conflict(TWO_FACTOR_ALREADY_ON_MESSAGE)
      return { secret: result.secret, otpauth_url: result.otpauthUrl }
    },
  )

  app.post<{ Body: CodeBody }>(
    '/2fa/totp/enable',
    { schema: { body: codeBodySchema, response: { 200: recoveryCodesResponseSchema } }, config: OWN_SETUP },
    async (req) => {
      const result = await twoFactor.enable(signedIn(req), req.body.code)
      if (result.status === 'already_on') throw conflict(TWO_FACTOR_ALREADY_ON_MESSAGE)
      if (result.status === 'not_set_up') throw badRequest(NO_SETUP_MESSAGE)
      if (result.status === 'invalid_code') throw badRequest(INVALID_CODE_MESSAGE)
      return { recovery_codes: result.recoveryCodes }
    },
  )

  // Turning the factor off and asking for new codes both need the password again, counted with
  // the password change's attempts (per user and per address), reserved before the body is read.
  const reauthenticated = { ...OWN_SETUP, rateLimit: PASSWORD_CHECK_POLICIES } as const

  async function confirmPassword(req: FastifyRequest, password: string) {
    const result = await credentials.confirmPassword(signedIn(req), password)
    if (result === 'no_account') throw unauthorized()
    if (result === 'wrong_current_password') throw badRequest(WRONG_CURRENT_PASSWORD_MESSAGE)
  }

  app.post<{ Body: CurrentPasswordBody }>(
    '/2fa/totp/disable',
    { schema: { body: currentPasswordBodySchema }, config: reauthenticated },
    async (req, reply) => {
      await confirmPassword(req, req.body.current_password)
      if (!(await twoFactor.disable(signedIn(req)))) throw conflict(TWO_FACTOR_NOT_ON_MESSAGE)
      return reply.code(204).send()
    },
  )

  app.post<{ Body: CurrentPasswordBody }>(
    '/2fa/recovery-codes',
    {
      schema: { body: currentPasswordBodySchema, response: { 200: recoveryCodesResponseSchema } },
      config: reauthenticated,
    },
    async (req) => {
      await confirmPassword(req, req.body.current_password)
      const codes = await twoFactor.regenerateRecoveryCodes(signedIn(req).user.id)
      if (codes === null) throw conflict(TWO_FACTOR_NOT_ON_MESSAGE)
      return { recovery_codes: codes }
    },
  )

  app.post<{ Body: CodeBody }>(
    '/login/2fa',
    {
      schema: { body: codeBodySchema, response: { 200: USER_ENVELOPE_SCHEMA } },
      config: { access: 'public' },
      onSend: reportCodeLimit,
    },
    async (req) => {
      const result = await twoFactor.signInWithCode(req, req.body.code)
      if (result.status === 'disabled') throw forbidden(ACCOUNT_DISABLED_MESSAGE)
      if (result.status === 'invalid_code') throw unauthorized(INVALID_CODE_MESSAGE)
      return { user: presentUser(result.user, true) }
    },
  )
}
