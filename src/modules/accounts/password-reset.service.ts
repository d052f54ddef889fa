import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest } from '../../http/errors.ts'
import type { Clock } from '../../lib/clock.ts'
import { newOneTimeToken, oneTimeTokenHash } from '../../security/one-time-token.ts'
import { passwordResetUrl, type Mailer, type Site } from '../../mail/index.ts'
import { createAccountsRepository, lowerKey } from './accounts.repository.ts'
import { LINK_TOKEN_MAX_LENGTH } from './accounts.schemas.ts'
import type { AccountsService } from './accounts.service.ts'
import { createPasswordResetRepository, type ResetIssuer } from './password-reset.repository.ts'

export const INVALID_RESET_LINK_MESSAGE = 'Invalid or expired reset link'
/** Reset emails an account receives per hour at most, however many are asked for (mail bombing). */
export const RESET_EMAILS_PER_HOUR = 3
const HOUR_MS = 60 * 60 * 1000

/** What became of a request at /api/password/forgot: logged, never told to the client. */
export type ResetRequestOutcome = 'sent' | 'unknown_address' | 'account_disabled' | 'capped'

export interface IssuedResetLink {
  url: string
  expiresAt: number
}

export interface PasswordResetDeps {
  db: Kysely<Database>
  accounts: AccountsService
  /** Ends every session of the account; returns how many. */
  endSessions(userId: number): Promise<number>
  mailer: Mailer
  site: Site
  clock: Clock
  /** PASSWORD_RESET_TTL: how long a link works unless its issuer says otherwise. */
  ttlMs: number
}

/**
 * Password recovery (CONTRACT §10), one implementation for the API, the admin API and the
 * command line: one-time links (random token, stored as its hash, consumed by one atomic
 * UPDATE) and the setting of a password without the current one, which ends every session,
 * voids every other link and tells the owner by email.
 */
export function createPasswordResetService(deps: PasswordResetDeps) {
  const { db, accounts, mailer, site, clock } = deps
  const tokens = createPasswordResetRepository(db)

  async function issue(userId: number, issuedBy: ResetIssuer, ttlMs: number) {
    const { token, tokenHash } = newOneTimeToken()
    const nowMs = clock.now()
    const expiresAt = nowMs + ttlMs
    await tokens.insert({ tokenHash, userId, issuedBy, nowMs, expiresAt })
    return { token, tokenHash, expiresAt }
  }

  async function notifyChanged(userId: number, changedAt: number) {
    const user = await accounts.findUser(userId)
    if (user) mailer.send({ to: user.email, kind: 'password_changed', data: { username: user.username, changedAt } })
  }

  return {
    /**
     * A link for the account, emailed to it and returned (the admin API hands it over, the
     * command line prints it). `ttlMs` defaults to PASSWORD_RESET_TTL. undefined: no such account.
     */
    async issueLink(
      userId: number,
      issuedBy: Exclude<ResetIssuer, 'self'>,
      opts: { ttlMs?: number; email?: boolean } = {},
    ): Promise<IssuedResetLink | undefined> {
      const user = await accounts.findUser(userId)
      if (!user) return undefined
      const { token, expiresAt } = await issue(user.id, issuedBy, opts.ttlMs ?? deps.ttlMs)
      if (opts.email !== false) {
        mailer.send({ to: user.email, kind: 'password_reset', data: { username: user.username, token, expiresAt } })
      }
      return { url: passwordResetUrl(site, token), expiresAt }
    },

    /**
     * A request at /api/password/forgot, worked out after the client has its answer. The cap
     * is counted after the new link is stored, so two racing requests can never both slip
     * under it: past the cap the link is taken back and nothing is sent.
     */
    async request(email: string): Promise<{ outcome: ResetRequestOutcome; userId: number | null }> {
      const user = await accounts.findUserByEmail(email)
      if (!user) return { outcome: 'unknown_address', userId: null }
      if (user.disabled) return { outcome: 'account_disabled', userId: user.id }
      const { token, tokenHash, expiresAt } = await issue(user.id, 'self', deps.ttlMs)
      const recent = await tokens.countIssuedSince(user.id, 'self', clock.now() - HOUR_MS)
      if (recent > RESET_EMAILS_PER_HOUR) {
        await tokens.remove(tokenHash)
        return { outcome: 'capped', userId: user.id }
      }
      mailer.send({ to: user.email, kind: 'password_reset', data: { username: user.username, token, expiresAt } })
      return { outcome: 'sent', userId: user.id }
    },

    /**
     * Replaces the password of the token's account. The token is checked first without being
     * used, so a password the rules refuse (a 400 naming the rule) leaves the link working; it
     * is then consumed in the same transaction as the new hash is written. Throws the one
     * message for an unknown, used or expired token and for a disabled account.
     */
    /**
     * Whether a reset link works now (unused, unexpired, of an enabled account): such a link is
     * no guess, so RATE_LIMIT_PASSWORD_RESET does not hold it back (the routes' rateLimitWaiver),
     * and a class imported together can set its passwords behind one address. Changes nothing.
     */
    async linkWorks(token: unknown): Promise<boolean> {
      if (typeof token !== 'string' || token === '' || token.length > LINK_TOKEN_MAX_LENGTH) return false
      const userId = await tokens.findUsable(oneTimeTokenHash(token), clock.now())
      const user = userId === undefined ? undefined : await accounts.findUser(userId)
      return user !== undefined && !user.disabled
    },

    async reset(token: string, newPassword: string): Promise<{ userId: number; signedOut: number }> {
      const tokenHash = oneTimeTokenHash(token)
      const candidate = await tokens.findUsable(tokenHash, clock.now())
      const user = candidate === undefined ? undefined : await accounts.findUser(candidate)
      if (!user || user.disabled) throw badRequest(INVALID_RESET_LINK_MESSAGE)
      const passwordHash = await accounts.hashNewPassword(user.id, newPassword)
      if (passwordHash === undefined) throw badRequest(INVALID_RESET_LINK_MESSAGE)
      const nowMs = clock.now()
      const consumed = await db.transaction().execute(async (trx) => {
        const link = await createPasswordResetRepository(trx).consume(tokenHash, nowMs)
        if (link === undefined) return false
        const accountsInTrx = createAccountsRepository(trx)
        await accountsInTrx.setPasswordHash(link.userId, passwordHash, nowMs)
        // The link of an imported account was mailed to its address: using it proves the address.
        if (link.issuedBy === 'import') await accountsInTrx.markEmailVerified(link.userId, lowerKey(user.email), nowMs)
        await createPasswordResetRepository(trx).voidAllForUser(link.userId, nowMs)
        return true
      })
      if (!consumed) throw badRequest(INVALID_RESET_LINK_MESSAGE)
      const signedOut = await deps.endSessions(user.id)
      await notifyChanged(user.id, nowMs)
      return { userId: user.id, signedOut }
    },

    /**
     * Sets the password without a link (the command line), under the registration rules:
     * every session ends, every link is voided, the owner is told. undefined: no such account.
     */
    async setPassword(userId: number, newPassword: string): Promise<{ signedOut: number } | undefined> {
      const passwordHash = await accounts.hashNewPassword(userId, newPassword)
      if (passwordHash === undefined) return undefined
      const nowMs = clock.now()
      await db.transaction().execute(async (trx) => {
        await createAccountsRepository(trx).setPasswordHash(userId, passwordHash, nowMs)
        await createPasswordResetRepository(trx).voidAllForUser(userId, nowMs)
      })
      const signedOut = await deps.endSessions(userId)
      await notifyChanged(userId, nowMs)
      return { signedOut }
    },

    /** After a change of password by its owner: the links still out stop working, and the owner is told. */
    async passwordChanged(userId: number): Promise<void> {
      const nowMs = clock.now()
      await tokens.voidAllForUser(userId, nowMs)
      await notifyChanged(userId, nowMs)
    },
  }
}

export type PasswordResetService = ReturnType<typeof createPasswordResetService>
