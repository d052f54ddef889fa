import type { FastifyInstance } from 'fastify'
import { badRequest, forbidden, unauthorized } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import { signedIn } from '../../security/authz.ts'
import type { RoutePolicyName } from '../../security/rate-limit/policies.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import {
  loginBodySchema,
  passwordChangeBodySchema,
  profileBodySchema,
  registerRequestSchema,
  type InvitedRegisterBody,
  type LoginBody,
  type PasswordChangeBody,
  type ProfileBody,
  type RegisterBody,
} from './accounts.schemas.ts'
import {
  ACCOUNT_DISABLED_MESSAGE,
  INVALID_CREDENTIALS_MESSAGE,
  WRONG_CURRENT_PASSWORD_MESSAGE,
  type AccountsService,
} from './accounts.service.ts'
import type { SecondFactors } from '../two-factor/second-factors.ts'
import type { CredentialsService } from './credentials.service.ts'
import { EMAIL_NOT_VERIFIED_MESSAGE, type EmailVerificationService } from './email-verification.service.ts'
import { saveProfile } from './profile.flows.ts'
import { presentUser, USER_ENVELOPE_SCHEMA } from './user.presenter.ts'

/** Every route that verifies the account's current password counts wrong ones per user and per address. */
export const PASSWORD_CHECK_POLICIES: readonly RoutePolicyName[] = ['password_check', 'password_check_ip']

export interface AccountsRoutesOptions {
  accounts: AccountsService
  credentials: CredentialsService
  verification: EmailVerificationService
  limits: RateLimits
  secondFactors: Pick<SecondFactors, 'enabled'>
}

const userBody = { 200: USER_ENVELOPE_SCHEMA } as const

/** The password step of an account with a second factor: not signed in yet (CONTRACT §11). */
const TWO_FACTOR_REQUIRED_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['two_factor_required'],
  properties: { two_factor_required: { type: 'boolean', const: true } },
} as const

/** CONTRACT §5 "Accounts" and "Profile": register, login, logout, me, profile, password. */
export async function accountsRoutes(app: FastifyInstance, opts: AccountsRoutesOptions) {
  const { accounts: service, credentials, verification, limits, secondFactors } = opts

  app.post<{ Body: (RegisterBody & { invitation?: undefined }) | (InvitedRegisterBody & { email?: string }) }>(
    '/register',
    {
      schema: { body: registerRequestSchema, response: { 201: USER_ENVELOPE_SCHEMA } },
      config: {
        access: 'public',
        rateLimit: 'register',
        // CONTRACT §5: registrations through an invitation that works are not counted.
        rateLimitWaiver: (req) =>
          credentials.invitationWorks((req.body as { invitation?: unknown } | null)?.invitation),
      },
    },
    async (req, reply) => {
      const body = req.body
      if (body.invitation !== undefined) {
        // CONTRACT §15: the address is the invitation's, in every REGISTRATION mode.
        if (body.email !== undefined) throw badRequest('email must not be sent with an invitation')
        const { user } = await credentials.registerByInvitation(req, body)
        return reply.code(201).send({ user: presentUser(user, false) })
      }
      // Signed in at once, or with REQUIRE_EMAIL_VERIFICATION only once the address is verified.
      const { user } = await credentials.register(req, body)
      return reply.code(201).send({ user: presentUser(user, false) }) // a new account has no second factor
    },
  )

  app.post<{ Body: LoginBody }>(
    '/login',
    // RATE_LIMIT_LOGIN counts failures per address: reserved here before the body is read, given
    // back by a right password (credentials.service.ts).
    {
      schema: {
        body: loginBodySchema,
        response: { 200: { anyOf: [USER_ENVELOPE_SCHEMA, TWO_FACTOR_REQUIRED_SCHEMA] } },
      },
      config: { access: 'public', rateLimit: 'login' },
    },
    async (req) => {
      const result = await credentials.signIn(req, req.body.username, req.body.password)
      // Signed in by the password alone: the account has no second factor.
      if (result.status === 'signed_in') return { user: presentUser(result.user, false) }
      if (result.status === 'two_factor_required') return { two_factor_required: true }
      if (result.status === 'disabled') throw forbidden(ACCOUNT_DISABLED_MESSAGE)
      if (result.status === 'email_not_verified') throw forbidden(EMAIL_NOT_VERIFIED_MESSAGE)
      throw unauthorized(INVALID_CREDENTIALS_MESSAGE)
    },
  )

  // Open to an account that must still set up a second factor (REQUIRE_2FA_FOR), like /me.
  app.post('/logout', { config: { access: 'public', secondFactorSetup: true } }, async (req, reply) => {
    const signedIn = req.user !== null
    if (req.session.id !== null) await req.session.signOut() // req.user stays set for this request's lines
    if (signedIn) securityEvent(req, 'logout')
    return reply.code(204).send()
  })

  app.get(
    '/me',
    { schema: { response: userBody }, config: { access: 'user', secondFactorSetup: true } },
    async (req) => {
      const user = await service.findUser(signedIn(req).user.id)
      if (!user) throw unauthorized()
      return { user: presentUser(user, await secondFactors.enabled(user.id)) }
    },
  )

  app.patch<{ Body: ProfileBody }>(
    '/profile',
    { schema: { body: profileBodySchema, response: userBody }, config: { access: 'user' } },
    async (req) => {
      const { user } = await saveProfile(signedIn(req), { accounts: service, limits, verification }, req.body)
      return { user: presentUser(user, await secondFactors.enabled(user.id)) }
    },
  )

  app.post<{ Body: PasswordChangeBody }>(
    '/profile/password',
    {
      schema: { body: passwordChangeBodySchema },
      // Wrong current passwords, per user and per address, reserved before the body is read.
      config: { access: 'user', rateLimit: PASSWORD_CHECK_POLICIES },
    },
    async (req, reply) => {
      const { current_password: current, new_password: next } = req.body
      const result = await credentials.changePassword(signedIn(req), current, next)
      if (result === 'no_account') throw unauthorized()
      if (result === 'wrong_current_password') throw badRequest(WRONG_CURRENT_PASSWORD_MESSAGE)
      return reply.code(204).send()
    },
  )
}
