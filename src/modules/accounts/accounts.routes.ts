import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest, forbidden, unauthorized } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import { createPasswordPolicy, loadCommonPasswords } from '../../security/password-policy.ts'
import type { PasswordHasher } from '../../security/passwords.ts'
import { createAccountsRepository, lowerKey, type UserRecord } from './accounts.repository.ts'
import {
  loginBodySchema,
  passwordChangeBodySchema,
  profileBodySchema,
  registerBodySchema,
  type LoginBody,
  type PasswordChangeBody,
  type ProfileBody,
  type RegisterBody,
} from './accounts.schemas.ts'
import {
  ACCOUNT_DISABLED_MESSAGE,
  createAccountsService,
  INVALID_CREDENTIALS_MESSAGE,
  WRONG_CURRENT_PASSWORD_MESSAGE,
  type LoginOutcome,
} from './accounts.service.ts'
import { presentUser, USER_ENVELOPE_SCHEMA } from './user.presenter.ts'

/**
 * Where the per-username failed-login limit plugs in (rate limits, CONTRACT §2
 * RATE_LIMIT_LOGIN_USER). `beforeAttempt` runs before any lookup or key derivation and may throw
 * (a 429); `afterAttempt` sees every outcome, to count failures and reset on success.
 */
export interface LoginAttemptHooks {
  beforeAttempt?(req: FastifyRequest, usernameKey: string): Promise<void> | void
  afterAttempt?(req: FastifyRequest, outcome: LoginOutcome): Promise<void> | void
}

export interface AccountsRoutesOptions {
  db: Kysely<Database>
  clock: Clock
  passwords: PasswordHasher
  /** Lower-cased common passwords refused at register and change; defaults to the shipped list. */
  commonPasswords?: ReadonlySet<string>
  loginAttempts?: LoginAttemptHooks
}

const userBody = { 200: USER_ENVELOPE_SCHEMA } as const

/**
 * Signs `user` into this request's session: the session id rotates (no fixation, old CSRF tokens
 * die) and req.user is set, so the rest of this request and its log lines carry user_id.
 */
async function signIn(req: FastifyRequest, user: UserRecord) {
  await req.session.signIn(user.id)
}

/** CONTRACT §5 "Accounts" and "Profile": register, login, logout, me, profile, password. */
export async function accountsRoutes(app: FastifyInstance, opts: AccountsRoutesOptions) {
  const service = createAccountsService({
    repository: createAccountsRepository(opts.db),
    passwords: opts.passwords,
    policy: createPasswordPolicy({ commonPasswords: opts.commonPasswords ?? loadCommonPasswords() }),
    clock: opts.clock,
  })
  const hooks = opts.loginAttempts ?? {}
  // The dummy hash exists before the first request, so no unknown-user login pays for making it.
  await opts.passwords.ready()

  app.post<{ Body: RegisterBody }>(
    '/register',
    {
      schema: { body: registerBodySchema, response: { 201: USER_ENVELOPE_SCHEMA } },
      config: { access: 'public', rateLimit: 'register' },
    },
    async (req, reply) => {
      const user = await service.register(req.body)
      await signIn(req, user)
      securityEvent(req, 'auth_success', { username: user.username, method: 'register' })
      return reply.code(201).send({ user: presentUser(user) })
    },
  )

  app.post<{ Body: LoginBody }>(
    '/login',
    { schema: { body: loginBodySchema, response: userBody }, config: { access: 'public', rateLimit: 'login' } },
    async (req) => {
      const { username, password } = req.body
      await hooks.beforeAttempt?.(req, lowerKey(username))
      const outcome = await service.login(username, password)
      await hooks.afterAttempt?.(req, outcome)
      if (outcome.status === 'success') {
        await signIn(req, outcome.user)
        securityEvent(req, 'auth_success', { username: outcome.user.username, method: 'password' })
        return { user: presentUser(outcome.user) }
      }
      const reason = outcome.status === 'disabled' ? 'account_disabled' : outcome.reason
      // The attempted name, as typed, for the operator; never the password.
      securityEvent(req, 'auth_failure', { username, reason })
      throw outcome.status === 'disabled'
        ? forbidden(ACCOUNT_DISABLED_MESSAGE)
        : unauthorized(INVALID_CREDENTIALS_MESSAGE)
    },
  )

  app.post('/logout', { config: { access: 'public' } }, async (req, reply) => {
    const signedIn = req.user !== null
    if (req.session.id !== null) await req.session.signOut() // req.user stays set for this request's lines
    if (signedIn) securityEvent(req, 'logout')
    return reply.code(204).send()
  })

  app.get('/me', { schema: { response: userBody }, config: { access: 'user' } }, async (req) => {
    const user = await service.findUser(req.user!.id)
    if (!user) throw unauthorized()
    return { user: presentUser(user) }
  })

  app.patch<{ Body: ProfileBody }>(
    '/profile',
    { schema: { body: profileBodySchema, response: userBody }, config: { access: 'user' } },
    async (req) => {
      const user = await service.updateProfile(req.user!.id, req.body)
      if (!user) throw unauthorized()
      return { user: presentUser(user) }
    },
  )

  app.post<{ Body: PasswordChangeBody }>(
    '/profile/password',
    { schema: { body: passwordChangeBodySchema }, config: { access: 'user' } },
    async (req, reply) => {
      const userId = req.user!.id
      const outcome = await service.changePassword(userId, req.body.current_password, req.body.new_password)
      if (!outcome) throw unauthorized()
      if (outcome.status === 'wrong_current_password') {
        securityEvent(req, 'auth_failure', { reason: 'wrong_current_password' })
        throw badRequest(WRONG_CURRENT_PASSWORD_MESSAGE)
      }
      // Whoever else held a session (perhaps the reason for the change) is signed out; this
      // session survives under a new id.
      const signedOutElsewhere = await app.sessions.endAllForUser(userId, { except: req })
      await req.session.signIn(userId)
      securityEvent(req, 'password_changed', { signed_out_elsewhere: signedOutElsewhere })
      return reply.code(204).send()
    },
  )
}
