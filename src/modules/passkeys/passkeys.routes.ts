import type { FastifyInstance } from 'fastify'
import { badRequest, conflict, forbidden, notFound, unauthorized } from '../../http/errors.ts'
import { signedIn } from '../../security/authz.ts'
import { clientKey } from '../../security/client-key.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import { ACCOUNT_DISABLED_MESSAGE, type AccountsService } from '../accounts/accounts.service.ts'
import { EMAIL_NOT_VERIFIED_MESSAGE } from '../accounts/email-verification.service.ts'
import { presentUser, USER_ENVELOPE_SCHEMA } from '../accounts/user.presenter.ts'
import { PASSKEY_VIEW_SCHEMA, presentPasskey } from './passkey.presenter.ts'
import {
  addPasskeyBodySchema,
  passkeyIdParamsSchema,
  passkeySignInBodySchema,
  type AddPasskeyBody,
  type PasskeyIdParams,
  type PasskeySignInBody,
} from './passkeys.schemas.ts'
import type { PasskeysService } from './passkeys.service.ts'

/** A sign-in refused for any reason of the passkey's (the log line says which). */
export const INVALID_PASSKEY_MESSAGE = 'Invalid passkey'
/** An authenticator's answer to "add a passkey" that does not verify. */
export const INVALID_PASSKEY_REGISTRATION_MESSAGE = 'Invalid passkey registration'
export const DUPLICATE_PASSKEY_MESSAGE = 'Passkey already registered'
export const PASSKEY_NOT_FOUND_MESSAGE = 'Passkey not found'

export interface PasskeysRoutesOptions {
  passkeys: PasskeysService
  accounts: Pick<AccountsService, 'findUser'>
  limits: RateLimits
}

/** WebAuthn's options are the library's JSON, passed through as they are. */
const OPTIONS_SCHEMA = { type: 'object', additionalProperties: true } as const

/** CONTRACT §11 "Passkeys": add, list, remove; sign in with one. */
export async function passkeysRoutes(app: FastifyInstance, opts: PasskeysRoutesOptions) {
  const { passkeys, accounts, limits } = opts

  app.post(
    '/passkeys/registration/options',
    { schema: { response: { 200: OPTIONS_SCHEMA } }, config: { access: 'user', secondFactorSetup: true } },
    async (req) => {
      const user = await accounts.findUser(signedIn(req).user.id)
      if (!user) throw unauthorized()
      return passkeys.registrationOptions(req, user)
    },
  )

  app.post<{ Body: AddPasskeyBody }>(
    '/passkeys',
    {
      schema: {
        body: addPasskeyBodySchema,
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            required: ['passkey'],
            properties: { passkey: PASSKEY_VIEW_SCHEMA },
          },
        },
      },
      config: { access: 'user', secondFactorSetup: true },
    },
    async (req, reply) => {
      const result = await passkeys.add(signedIn(req), req.body.credential, req.body.name)
      if (result.status === 'duplicate') throw conflict(DUPLICATE_PASSKEY_MESSAGE)
      if (result.status === 'invalid') throw badRequest(INVALID_PASSKEY_REGISTRATION_MESSAGE)
      return reply.code(201).send({ passkey: presentPasskey(result.passkey) })
    },
  )

  app.get(
    '/passkeys',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['passkeys'],
            properties: { passkeys: { type: 'array', items: PASSKEY_VIEW_SCHEMA } },
          },
        },
      },
      config: { access: 'user', secondFactorSetup: true },
    },
    async (req) => ({ passkeys: (await passkeys.list(signedIn(req).user.id)).map(presentPasskey) }),
  )

  app.delete<{ Params: PasskeyIdParams }>(
    '/passkeys/:id',
    { schema: { params: passkeyIdParamsSchema }, config: { access: 'user', secondFactorSetup: true } },
    async (req, reply) => {
      // Another account's passkey is answered as one that does not exist: ids tell nothing.
      if (!(await passkeys.remove(signedIn(req), req.params.id))) throw notFound(PASSKEY_NOT_FOUND_MESSAGE)
      return reply.code(204).send()
    },
  )

  app.post(
    '/login/passkey/options',
    {
      schema: { response: { 200: OPTIONS_SCHEMA } },
      config: { access: 'public' },
      // An address the login limit blocks gets no challenge either. Asking is no attempt, so it
      // counts nothing: a class behind one address asking at once is never refused for it.
      onRequest: async (req) => {
        const address = clientKey(req.ip ?? '')
        const decision = await limits.policies.login.peek(address)
        if (!decision.allowed) throw limits.refuse(req, 'login', address, decision)
      },
    },
    async (req) => passkeys.authenticationOptions(req),
  )

  app.post<{ Body: PasskeySignInBody }>(
    '/login/passkey',
    // RATE_LIMIT_LOGIN, counted with POST /api/login: reserved before the body is read, given
    // back by a passkey that verifies (passkeys.service.ts).
    {
      schema: { body: passkeySignInBodySchema, response: { 200: USER_ENVELOPE_SCHEMA } },
      config: { access: 'public', rateLimit: 'login' },
    },
    async (req) => {
      const result = await passkeys.signIn(req, req.body.credential)
      if (result.status === 'signed_in') return { user: presentUser(result.user, true) } // it has a passkey
      if (result.status === 'disabled') throw forbidden(ACCOUNT_DISABLED_MESSAGE)
      if (result.status === 'email_not_verified') throw forbidden(EMAIL_NOT_VERIFIED_MESSAGE)
      throw unauthorized(INVALID_PASSKEY_MESSAGE)
    },
  )
}
