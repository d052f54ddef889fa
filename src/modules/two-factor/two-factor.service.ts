import type { FastifyRequest } from 'fastify'
import { securityEvent } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import type { Mailer } from '../../mail/mailer.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import type { SessionAdmin } from '../../security/sessions/types.ts'
import type { UserRecord } from '../accounts/accounts.repository.ts'
import type { AccountsService } from '../accounts/accounts.service.ts'
import type { CredentialsService } from '../accounts/credentials.service.ts'
import { newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.ts'
import type { SecondFactorSource, SecondFactors } from './second-factors.ts'
import type { SecretBox } from './secret-box.ts'
import type { SignInChallenges } from './sign-in-challenges.ts'
import { matchTotpCode, newTotpSecret, totpUri } from './totp.ts'
import type { TwoFactorRepository } from './two-factor.repository.ts'

export const INVALID_CODE_MESSAGE = 'Invalid code'
export const TWO_FACTOR_ALREADY_ON_MESSAGE = 'Two-factor sign-in is already on'
export const TWO_FACTOR_NOT_ON_MESSAGE = 'Two-factor sign-in is not on'
export const NO_SETUP_MESSAGE = 'Set up an authenticator first'

export interface TwoFactorServiceDeps {
  repository: TwoFactorRepository
  secretBox: SecretBox
  /** Keyed hash of a normalised recovery code (recovery-codes.ts). */
  hashRecoveryCode(normalizedCode: string): string
  challenges: SignInChallenges
  accounts: Pick<AccountsService, 'findUser'>
  credentials: Pick<CredentialsService, 'completeSignIn'>
  limits: RateLimits
  sessions: SessionAdmin
  /** Every kind of second factor (TOTP's own source among them): what admin removal takes away. */
  secondFactors: SecondFactors
  clock: Clock
  /** Tells the owner when two-factor sign-in is turned on or off (mail templates two_factor_*). */
  mailer: Pick<Mailer, 'send'>
  /** The name authenticator apps show for the account (totp.ts totpIssuer). */
  issuer: string
}

export type SetupResult =
  { status: 'started'; secret: string; otpauthUrl: string } | { status: 'already_on' } | { status: 'no_account' }
export type EnableResult =
  | { status: 'enabled'; recoveryCodes: string[] }
  | { status: 'invalid_code' }
  | { status: 'already_on' }
  | { status: 'not_set_up' }
export type CodeSignInResult =
  | { status: 'signed_in'; user: UserRecord; method: 'totp' | 'recovery_code' }
  | { status: 'invalid_code' }
  | { status: 'disabled' }

/** `via: 'form'` on the events of the pages' forms; nothing for the API. */
type Via = { via?: 'form' }

/**
 * TOTP and recovery codes (CONTRACT §11), one implementation for the API and the pages: set-up,
 * confirmation, turning off, fresh codes, and the second step of a sign-in. Codes are checked
 * against the injected clock and spent atomically; wrong ones are counted per account before
 * they are checked (RATE_LIMIT_2FA).
 */
export function createTwoFactorService(deps: TwoFactorServiceDeps) {
  const { repository, secretBox, challenges, limits, clock } = deps

  async function freshRecoveryCodes(): Promise<{ codes: string[]; hashes: string[] }> {
    const codes = newRecoveryCodes()
    return { codes, hashes: codes.map((code) => deps.hashRecoveryCode(normalizeRecoveryCode(code)!)) }
  }

  /** Whether `code` is a right, unspent TOTP code of the account; if so it is spent now. */
  async function spendTotp(userId: number, code: string): Promise<boolean> {
    const row = await repository.findTotp(userId)
    if (!row || row.enabled_at === null) return false
    const step = await matchTotpCode(secretBox.open(userId, row.secret_sealed), code, clock.now(), row.last_used_step)
    // Two requests with one code both match; the conditional UPDATE lets one of them spend it.
    return step !== null && (await repository.spendTotpStep(userId, step))
  }

  async function spendRecoveryCode(userId: number, typed: string): Promise<boolean> {
    const code = normalizeRecoveryCode(typed)
    if (code === null) return false
    return repository.spendRecoveryCode(userId, deps.hashRecoveryCode(code), clock.now())
  }

  /** Mails the owner that two-factor sign-in was turned on or off, so a borrowed session cannot do it unnoticed. */
  async function tellOwner(userId: number, kind: 'two_factor_enabled' | 'two_factor_disabled'): Promise<void> {
    const owner = await deps.accounts.findUser(userId)
    if (owner) deps.mailer.send({ to: owner.email, kind, data: { username: owner.username, changedAt: clock.now() } })
  }

  /**
   * What was typed, in NFKC and without spaces: a 6-digit TOTP code, or else a recovery code.
   * NFKC makes full-width digits (a phone keyboard, an input method) the ASCII ones the code is.
   */
  const compact = (typed: string) => typed.normalize('NFKC').replace(/\s/g, '')
  const looksLikeTotp = (typed: string) => /^\d{6}$/.test(compact(typed))

  return {
    /** A new secret, not in force until `enable` confirms a code of it (a repeated set-up replaces it). */
    async setup(userId: number): Promise<SetupResult> {
      const user = await deps.accounts.findUser(userId)
      if (!user) return { status: 'no_account' }
      const secret = newTotpSecret()
      const saved = await repository.savePendingTotp(user.id, secretBox.seal(user.id, secret), clock.now())
      if (!saved) return { status: 'already_on' }
      return {
        status: 'started',
        secret,
        otpauthUrl: totpUri({ issuer: deps.issuer, username: user.username, secret }),
      }
    },

    /** The secret being set up, to show again (the profile page); null when none is pending. */
    async pendingSetup(
      user: Pick<UserRecord, 'id' | 'username'>,
    ): Promise<{ secret: string; otpauthUrl: string } | null> {
      const row = await repository.findTotp(user.id)
      if (!row || row.enabled_at !== null) return null
      const secret = secretBox.open(user.id, row.secret_sealed)
      return { secret, otpauthUrl: totpUri({ issuer: deps.issuer, username: user.username, secret }) }
    },

    /** Whether this session gave a right password in the last five minutes and waits for its code. */
    async awaitsCode(req: FastifyRequest): Promise<boolean> {
      return (await challenges.find(req)).status === 'pending'
    },

    async totpEnabled(userId: number): Promise<boolean> {
      return repository.hasEnabledTotp(userId)
    },

    async unusedRecoveryCodes(userId: number): Promise<number> {
      return repository.countUnusedRecoveryCodes(userId)
    },

    /** Confirms the set-up with a current code: TOTP is on, and the account gets its recovery codes. */
    async enable(req: FastifyRequest & { user: { id: number } }, code: string, via: Via = {}): Promise<EnableResult> {
      const userId = req.user.id
      const row = await repository.findTotp(userId)
      if (!row) return { status: 'not_set_up' }
      if (row.enabled_at !== null) return { status: 'already_on' }
      const step = await matchTotpCode(secretBox.open(userId, row.secret_sealed), compact(code), clock.now())
      if (step === null) {
        securityEvent(req, 'two_factor_failure', { reason: 'wrong_code', stage: 'enable', ...via })
        return { status: 'invalid_code' }
      }
      const { codes, hashes } = await freshRecoveryCodes()
      // The confirming code's step is spent with it: it cannot sign in a second time.
      if (!(await repository.enableTotp(userId, step, hashes, clock.now()))) return { status: 'already_on' }
      securityEvent(req, 'two_factor_enabled', { method: 'totp', ...via })
      await tellOwner(userId, 'two_factor_enabled')
      return { status: 'enabled', recoveryCodes: codes }
    },

    /** Turns TOTP off (the caller confirmed the password): the authenticator and the codes are gone. */
    async disable(req: FastifyRequest & { user: { id: number } }, via: Via = {}): Promise<boolean> {
      // One conditional delete, not check-then-remove: of two disables at once, one is logged and mailed.
      if (!(await repository.removeEnabledTotp(req.user.id))) return false
      securityEvent(req, 'two_factor_disabled', { method: 'totp', by: 'owner', ...via })
      await tellOwner(req.user.id, 'two_factor_disabled')
      return true
    },

    /** A fresh set of recovery codes (the caller confirmed the password); the old set stops working. */
    async regenerateRecoveryCodes(userId: number): Promise<string[] | null> {
      if (!(await repository.hasEnabledTotp(userId))) return null
      const { codes, hashes } = await freshRecoveryCodes()
      await repository.replaceRecoveryCodes(userId, hashes, clock.now())
      return codes
    },

    /**
     * The second step of a sign-in (POST /api/login/2fa and the login page's code form): a current
     * TOTP code or an unused recovery code for the account whose password this session gave in the
     * last five minutes. Wrong codes count against the account from any address, reserved before
     * the code is checked, so parallel guesses cannot outrun RATE_LIMIT_2FA.
     */
    async signInWithCode(req: FastifyRequest, typed: string, via: Via = {}): Promise<CodeSignInResult> {
      const found = await challenges.find(req)
      if (found.status !== 'pending') {
        securityEvent(req, 'two_factor_failure', {
          reason: found.status === 'expired' ? 'expired' : 'no_pending_sign_in',
          ...via,
        })
        return { status: 'invalid_code' }
      }
      const { userId, loginUserKey } = found.pending
      const { granted, refused } = await limits.reserve([['two_factor', String(userId)]])
      if (refused) throw limits.refuse(req, refused.policy, refused.value, refused.decision)
      req.rateLimitDecision = granted[0]!.decision

      const method = looksLikeTotp(typed) ? 'totp' : 'recovery_code'
      const right = method === 'totp' ? await spendTotp(userId, compact(typed)) : await spendRecoveryCode(userId, typed)
      if (!right) {
        securityEvent(req, 'two_factor_failure', { attempted_user_id: userId, reason: 'wrong_code', ...via })
        return { status: 'invalid_code' }
      }
      // A right code is no failure: its attempt goes back.
      await limits.refund(granted)
      const { decision } = granted[0]!
      req.rateLimitDecision = { ...decision, remaining: Math.min(decision.remaining + 1, decision.limit) }
      await challenges.end(req)
      if (method === 'recovery_code') {
        securityEvent(req, 'recovery_code_used', {
          attempted_user_id: userId,
          remaining: await repository.countUnusedRecoveryCodes(userId),
          ...via,
        })
      }
      const user = await deps.accounts.findUser(userId)
      if (!user || user.disabled === 1) {
        securityEvent(req, 'auth_failure', { attempted_user_id: userId, reason: 'account_disabled', ...via })
        return { status: 'disabled' }
      }
      await deps.credentials.completeSignIn(req, user, loginUserKey, method, via)
      return { status: 'signed_in', user, method }
    },

    /**
     * Every second factor of the account removed (a lost phone: the admin API, `lectern
     * reset-2fa`), and every session of it ended. Returns the kinds removed and the sessions ended.
     */
    async removeAllFactors(userId: number): Promise<{ removed: Array<SecondFactorSource['kind']>; signedOut: number }> {
      const removed = await deps.secondFactors.removeAll(userId)
      const signedOut = await deps.sessions.endAllForUser(userId)
      if (removed.length > 0) await tellOwner(userId, 'two_factor_disabled')
      return { removed, signedOut }
    },
  }
}

export type TwoFactorService = ReturnType<typeof createTwoFactorService>
