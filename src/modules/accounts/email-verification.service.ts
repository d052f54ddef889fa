import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest } from '../../http/errors.ts'
import type { Clock } from '../../lib/clock.ts'
import type { Mailer } from '../../mail/index.ts'
import { newOneTimeToken, oneTimeTokenHash } from '../../security/one-time-token.ts'
import { createAccountsRepository, lowerKey, type UserRecord } from './accounts.repository.ts'
import { createEmailVerificationRepository } from './email-verification.repository.ts'

export const INVALID_VERIFICATION_LINK_MESSAGE = 'Invalid or expired verification link'
export const EMAIL_NOT_VERIFIED_MESSAGE = 'Email address not verified'
/** CONTRACT §10: a verification link works for 24 hours. */
export const VERIFICATION_LINK_TTL_MS = 24 * 60 * 60 * 1000
/**
 * Verification emails an account is sent per hour at most, whatever asks for them (registration,
 * a change of address, "send the link again", a sign-in waiting for verification): nobody can
 * use Lectern to flood an address, their own or another's.
 */
export const VERIFICATION_EMAILS_PER_HOUR = 3
const HOUR_MS = 60 * 60 * 1000

/** What became of a request for a link: logged, and shown to the owner on the pages. */
export type VerificationLinkOutcome = 'sent' | 'capped' | 'already_verified'

export interface EmailVerificationDeps {
  db: Kysely<Database>
  mailer: Mailer
  clock: Clock
  /** REQUIRE_EMAIL_VERIFICATION: sign-in waits until the address is verified. */
  required: boolean
}

/**
 * Email verification (CONTRACT §10): links of one-time tokens (stored as their hash, bound to the
 * address they were sent to, 24 hours), sent on registration, on a change of address and on
 * request, and consumed by one atomic UPDATE together with the flag on the account.
 */
export function createEmailVerificationService(deps: EmailVerificationDeps) {
  const { db, mailer, clock } = deps
  const tokens = createEmailVerificationRepository(db)

  /**
   * Emails the account a fresh link to its current address, unless it is verified already or
   * has had its share this hour. The cap is counted after the new link is stored, so two racing
   * requests can never both slip under it: past the cap the link is taken back, nothing is sent.
   */
  async function sendLink(
    user: Pick<UserRecord, 'id' | 'username' | 'email' | 'email_verified'>,
  ): Promise<VerificationLinkOutcome> {
    if (user.email_verified === 1) return 'already_verified'
    const { token, tokenHash } = newOneTimeToken()
    const nowMs = clock.now()
    const expiresAt = nowMs + VERIFICATION_LINK_TTL_MS
    await tokens.insert({ tokenHash, userId: user.id, emailLower: lowerKey(user.email), nowMs, expiresAt })
    if ((await tokens.countIssuedSince(user.id, nowMs - HOUR_MS)) > VERIFICATION_EMAILS_PER_HOUR) {
      await tokens.remove(tokenHash)
      return 'capped'
    }
    mailer.send({ to: user.email, kind: 'email_verification', data: { username: user.username, token, expiresAt } })
    return 'sent'
  }

  return {
    /** Whether sign-in waits for a verified address (REQUIRE_EMAIL_VERIFICATION). */
    required: deps.required,

    sendLink,

    /**
     * Verifies the address a link was sent to: the token is consumed and the account marked in
     * one transaction, and only while the account still has that address and is enabled;
     * otherwise nothing changes. The account's other links stop working. Throws the one message
     * for an unknown, used or expired token, a changed address and a disabled account.
     */
    async verify(token: string): Promise<{ userId: number }> {
      const tokenHash = oneTimeTokenHash(token)
      const nowMs = clock.now()
      const userId = await db.transaction().execute(async (trx) => {
        const link = await createEmailVerificationRepository(trx).consume(tokenHash, nowMs)
        if (!link) return undefined
        if (!(await createAccountsRepository(trx).markEmailVerified(link.userId, link.emailLower, nowMs)))
          return undefined
        await createEmailVerificationRepository(trx).voidAllForUser(link.userId, nowMs)
        return link.userId
      })
      if (userId === undefined) throw badRequest(INVALID_VERIFICATION_LINK_MESSAGE)
      return { userId }
    },

    /**
     * After a change of address: the links sent to the old one stop working, the old address is
     * told (an owner whose account was taken over hears of it there), and the new one gets a link.
     */
    async addressChanged(user: UserRecord, previousEmail: string): Promise<VerificationLinkOutcome> {
      const nowMs = clock.now()
      await tokens.voidAllForUser(user.id, nowMs)
      mailer.send({ to: previousEmail, kind: 'email_changed', data: { username: user.username, changedAt: nowMs } })
      return sendLink(user)
    },
  }
}

export type EmailVerificationService = ReturnType<typeof createEmailVerificationService>
