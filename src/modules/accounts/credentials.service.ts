import type { FastifyRequest } from 'fastify'
import type { RegistrationMode } from '../../config/index.ts'
import { forbidden, HttpError } from '../../http/errors.ts'
import { securityEvent, unhandledError } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import { clientKey } from '../../security/client-key.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import type { SessionAdmin } from '../../security/sessions/index.ts'
import type { SecondFactors } from '../two-factor/second-factors.ts'
import type { SignInChallenges } from '../two-factor/sign-in-challenges.ts'
import type { UserRecord } from './accounts.repository.ts'
import { LINK_TOKEN_MAX_LENGTH, type RegisterBody } from './accounts.schemas.ts'
import type { AccountsService } from './accounts.service.ts'
import type { EmailVerificationService } from './email-verification.service.ts'
import type { PasswordResetService } from './password-reset.service.ts'
import type { SignInAddressesRepository } from './sign-in-addresses.repository.ts'
import { INVALID_INVITATION_MESSAGE, type InvitationsService } from '../invitations/invitations.service.ts'

/** An address an account signed in from within this window gets past a block of its username. */
export const KNOWN_ADDRESS_WINDOW_MS = 30 * 24 * 60 * 60 * 1000

export type SignInResult =
  | { status: 'signed_in'; user: UserRecord }
  | { status: 'invalid_credentials' }
  /** The password was right; the account is disabled. */
  | { status: 'disabled' }
  /** The password was right; sign-in waits for the address to be verified (a fresh link was sent). */
  | { status: 'email_not_verified' }
  /** The password was right; the account has a second factor, which the session must now give. */
  | { status: 'two_factor_required' }

/** How a sign-in was completed: `extra.method` of auth_success. */
export type SignInMethod = 'password' | 'totp' | 'recovery_code' | 'passkey'

/** `signedIn` false: REQUIRE_EMAIL_VERIFICATION, the account waits for its link to be followed. */
export type RegistrationResult = { user: UserRecord; signedIn: boolean }

/** CONTRACT §15: what a registration without an invitation is told when REGISTRATION is not `open`. */
export const REGISTRATION_REFUSALS: Readonly<Record<Exclude<RegistrationMode, 'open'>, string>> = {
  invite: 'Registration is by invitation only',
  closed: 'Registration is closed',
}

export interface InvitedRegistration {
  invitation: string
  username: string
  password: string
}

export type PasswordChangeResult = 'changed' | 'wrong_current_password' | 'no_account'
export type PasswordConfirmation = 'confirmed' | 'wrong_current_password' | 'no_account'

export interface CredentialsServiceDeps {
  accounts: AccountsService
  limits: RateLimits
  addresses: SignInAddressesRepository
  sessions: SessionAdmin
  /** Voids the reset links still out and tells the owner, after any change of password. */
  resets: Pick<PasswordResetService, 'passwordChanged'>
  verification: Pick<EmailVerificationService, 'required' | 'sendLink'>
  clock: Clock
  /** Whether an account has a second factor: then a right password alone does not sign it in. */
  secondFactors: Pick<SecondFactors, 'enabled'>
  /** Where the session keeps the sign-in that waits for its second step. */
  challenges: Pick<SignInChallenges, 'start'>
  /** Keyed hash of a client key: where an account signed in from, without storing the address. */
  addressHash(clientKey: string): string
  /** REGISTRATION: whether anyone may register without an invitation. */
  registration: RegistrationMode
  invitations: Pick<InvitationsService, 'accept' | 'find'>
}

/** `via: 'form'` on the events of the pages' forms; nothing for the API. */
type Via = { via?: 'form' }

/**
 * The security flows of a password, one implementation for the API and the pages: signing in
 * (rate-limit reservations, session rotation, events) and changing the password (ending the
 * other sessions). Routes only translate the result into JSON or a page.
 *
 * Limits count failures, and count them *before* the password is verified: the route's policy
 * (per address) reserved an attempt in onRequest and the username's is reserved here, both
 * atomically, so however many guesses arrive at once at most the limit reach the KDF. A right
 * password gives its reservations back.
 */
export function createCredentialsService(deps: CredentialsServiceDeps) {
  const { accounts, limits, addresses, sessions, verification, clock } = deps
  const addressOf = (req: FastifyRequest) => deps.addressHash(clientKey(req.ip ?? ''))

  /**
   * A blocked username lets its owner in from an address the account signed in from lately: a
   * guesser elsewhere renewing the block forever must not lock the owner out (the per-address
   * limit, already reserved, still bounds guessing from there).
   */
  async function knownAddress(req: FastifyRequest, username: string): Promise<boolean> {
    const userId = await accounts.findUserId(username)
    if (userId === undefined) return false
    return addresses.signedInSince(userId, addressOf(req), clock.now() - KNOWN_ADDRESS_WINDOW_MS)
  }

  /** Who a failed attempt was for, in the log: an account by id; an unknown name only as its keyed hash. */
  function attempted(userId: number | null, username: string) {
    return userId === null ? { attempted_username_key: limits.loginUser.key(username) } : { attempted_user_id: userId }
  }

  /**
   * The last step of every sign-in, whatever proved who it is: the username's failed-login count
   * starts afresh, the address is remembered, the session is rotated onto the account.
   */
  async function completeSignIn(
    req: FastifyRequest,
    user: UserRecord,
    /** The failed-login counter of the username typed; null when none was (a passkey sign-in). */
    loginUserKey: string | null,
    method: SignInMethod,
    via: Via = {},
  ): Promise<void> {
    if (loginUserKey !== null) await limits.policies.login_user.reset(loginUserKey)
    await addresses.remember(user.id, addressOf(req), clock.now())
    await req.session.signIn(user.id)
    securityEvent(req, 'auth_success', { username: user.username, method, ...via })
  }

  return {
    completeSignIn,

    async signIn(req: FastifyRequest, username: string, password: string, via: Via = {}): Promise<SignInResult> {
      const reservation = await limits.loginUser.reserve(username)
      if (!reservation.decision.allowed && !(await knownAddress(req, username))) {
        // Refused without verifying anything: the address's reservation goes back, so that an
        // owner locked out by someone else's guessing does not use up their address's attempts.
        await req.refundRateLimits()
        throw limits.refuse(req, 'login_user', reservation.value, reservation.decision)
      }

      let outcome
      try {
        outcome = await accounts.login(username, password)
      } catch (error) {
        // Nothing was decided (the KDF queue full: a 503 to retry): no failure to count.
        await req.refundRateLimits()
        await limits.loginUser.refund(username)
        throw error
      }
      if (outcome.status === 'success' && verification.required && outcome.user.email_verified !== 1) {
        // A right password is no failure; the owner is sent a fresh link (capped per hour), since
        // the one from registration may be lost or expired.
        await req.refundRateLimits()
        await limits.loginUser.refund(username)
        const link = await verification.sendLink(outcome.user)
        securityEvent(req, 'auth_failure', {
          attempted_user_id: outcome.user.id,
          reason: 'email_not_verified',
          verification_link: link,
          ...via,
        })
        return { status: 'email_not_verified' }
      }
      if (outcome.status === 'success') {
        await req.refundRateLimits()
        if (await deps.secondFactors.enabled(outcome.user.id)) {
          // Not signed in yet, and no auth_success: the password alone proves too little. Its
          // reservation goes back (a right password is no failure); the username's counter is
          // reset only by the completed sign-in (two-factor/sign-in-challenges.ts).
          await limits.loginUser.refund(username)
          await deps.challenges.start(req, outcome.user.id, limits.loginUser.key(username))
          return { status: 'two_factor_required' }
        }
        await completeSignIn(req, outcome.user, limits.loginUser.key(username), 'password', via)
        return { status: 'signed_in', user: outcome.user }
      }
      if (outcome.status === 'disabled') {
        // A right password is no failure; the 403 tells only someone who knows it.
        await req.refundRateLimits()
        await limits.loginUser.refund(username)
        securityEvent(req, 'auth_failure', { attempted_user_id: outcome.userId, reason: 'account_disabled', ...via })
        return { status: 'disabled' }
      }
      // What was typed as a username may be a password typed in the wrong field: never logged.
      securityEvent(req, 'auth_failure', { ...attempted(outcome.userId, username), reason: outcome.reason, ...via })
      return { status: 'invalid_credentials' }
    },

    /**
     * Creates an account (POST /api/register and the registration page) and emails it a link to
     * verify its address. Signed in at once, unless sign-in waits for that link
     * (REQUIRE_EMAIL_VERIFICATION).
     */
    async register(req: FastifyRequest, body: RegisterBody, via: Via = {}): Promise<RegistrationResult> {
      if (deps.registration !== 'open') {
        // Refused before anything is looked up: nothing learned, nothing done, so no attempt is
        // used up (the class's invited registrations share the address's counter).
        await req.refundRateLimits()
        securityEvent(req, 'auth_failure', { reason: 'registration_not_open', registration: deps.registration, ...via })
        throw forbidden(REGISTRATION_REFUSALS[deps.registration])
      }
      const user = await accounts.register(body)
      const signedIn = !verification.required
      if (signedIn) await req.session.signIn(user.id)
      securityEvent(req, 'auth_success', { username: user.username, method: 'register', signed_in: signedIn, ...via })
      try {
        await verification.sendLink(user)
      } catch (error) {
        // The account exists and works: a link can be asked for again (from the profile, or by
        // signing in when sign-in waits for it), so the registration is not undone for this.
        unhandledError(req, error, 'email verification link')
      }
      return { user, signedIn }
    },

    /**
     * Whether a registration is by an invitation that works: RATE_LIMIT_REGISTER does not apply
     * to it (the route's rateLimitWaiver). An invitation that does not work is limited like any
     * other attempt, so tokens cannot be tried for free.
     */
    async invitationWorks(token: unknown): Promise<boolean> {
      if (typeof token !== 'string' || token === '' || token.length > LINK_TOKEN_MAX_LENGTH) return false
      return (await deps.invitations.find(token)) !== undefined
    },

    /**
     * Creates the account of an invitation (CONTRACT §15), in any REGISTRATION mode, and signs it
     * in (its address is verified: the link reached it). The route's per-address attempt is kept
     * only by an invitation that does not work, so tokens cannot be tried for free, while a
     * class of invited learners behind one address all register.
     */
    async registerByInvitation(
      req: FastifyRequest,
      body: InvitedRegistration,
      via: Via = {},
    ): Promise<{ user: UserRecord; courseSlug: string | null }> {
      let accepted
      try {
        accepted = await deps.invitations.accept(body.invitation, { username: body.username, password: body.password })
      } catch (error) {
        if (error instanceof HttpError && error.publicMessage === INVALID_INVITATION_MESSAGE) {
          securityEvent(req, 'invitation_rejected', { reason: 'invalid_or_expired', ...via })
        } else {
          await req.refundRateLimits() // a taken name or a refused password with a working invitation
        }
        throw error
      }
      const { user, invitationId, courseSlug } = accepted
      await req.refundRateLimits()
      await req.session.signIn(user.id)
      securityEvent(req, 'invitation_accepted', {
        invitation_id: invitationId,
        target_user_id: user.id,
        role: user.role,
        course: courseSlug,
        ...via,
      })
      securityEvent(req, 'auth_success', { username: user.username, method: 'invitation', signed_in: true, ...via })
      return { user, courseSlug }
    },

    /**
     * Re-authentication before a sensitive change (turning two-factor sign-in off, new recovery
     * codes): the route's password-check policies reserved an attempt before the body was read,
     * shared with the password change; only a wrong password keeps it.
     */
    async confirmPassword(
      req: FastifyRequest & { user: { id: number } },
      password: string,
      via: Via = {},
    ): Promise<PasswordConfirmation> {
      let ok
      try {
        ok = await accounts.verifyPassword(req.user.id, password)
      } catch (error) {
        await req.refundRateLimits() // nothing was decided (the KDF queue full)
        throw error
      }
      if (ok !== false) await req.refundRateLimits()
      if (ok === undefined) return 'no_account'
      if (!ok) {
        securityEvent(req, 'auth_failure', { reason: 'wrong_current_password', ...via })
        return 'wrong_current_password'
      }
      return 'confirmed'
    },

    /**
     * The route's policies (per user and per address) reserved an attempt before the body was
     * read; only a wrong current password keeps it.
     */
    async changePassword(
      req: FastifyRequest & { user: { id: number } },
      currentPassword: string,
      newPassword: string,
      via: Via = {},
    ): Promise<PasswordChangeResult> {
      const userId = req.user.id
      let outcome
      try {
        outcome = await accounts.changePassword(userId, currentPassword, newPassword)
      } catch (error) {
        await req.refundRateLimits() // a refused new password is not a guess at the current one
        throw error
      }
      if (outcome?.status !== 'wrong_current_password') await req.refundRateLimits()
      if (!outcome) return 'no_account'
      if (outcome.status === 'wrong_current_password') {
        securityEvent(req, 'auth_failure', { reason: 'wrong_current_password', ...via })
        return 'wrong_current_password'
      }
      // Whoever else held a session (perhaps the reason for the change) is signed out; this
      // session goes on under a new id.
      const signedOutElsewhere = await sessions.endAllForUser(userId, { except: req })
      await req.session.signIn(userId)
      // A reset link asked for before the change must not undo it; the owner hears of the change.
      await deps.resets.passwordChanged(userId)
      securityEvent(req, 'password_changed', { signed_out_elsewhere: signedOutElsewhere, ...via })
      return 'changed'
    },
  }
}

export type CredentialsService = ReturnType<typeof createCredentialsService>
