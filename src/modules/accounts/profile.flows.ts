/** Saving a profile as a request makes it, shared by PATCH /api/profile and the profile page. */
import type { FastifyRequest } from 'fastify'
import { unauthorized } from '../../http/errors.ts'
import { clientKey } from '../../security/client-key.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import { lowerKey, type UserRecord } from './accounts.repository.ts'
import type { ProfileBody } from './accounts.schemas.ts'
import type { AccountsService } from './accounts.service.ts'
import type { EmailVerificationService, VerificationLinkOutcome } from './email-verification.service.ts'

export interface ProfileFlowDeps {
  accounts: AccountsService
  limits: RateLimits
  verification: Pick<EmailVerificationService, 'addressChanged'>
}

/**
 * A change of email address answers whether the new address is taken (409) or free, so each
 * one is counted, per user and per address, before it is tried (RATE_LIMIT_EMAIL_CHANGE and
 * RATE_LIMIT_EMAIL_CHANGE_IP). Saving a profile with its address unchanged is not a change.
 */
async function limitEmailChange(
  req: FastifyRequest & { user: { id: number } },
  limits: RateLimits,
  accounts: AccountsService,
  newEmail: string | undefined,
): Promise<void> {
  if (newEmail === undefined) return
  const current = await accounts.findUser(req.user.id)
  if (current === undefined || lowerKey(current.email) === lowerKey(newEmail)) return
  const { refused } = await limits.reserve([
    ['email_change', String(req.user.id)],
    ['email_change_ip', clientKey(req.ip ?? '')],
  ])
  if (refused) throw limits.refuse(req, refused.policy, refused.value, refused.decision)
}

/**
 * Saves the signed-in user's profile. A new address is unverified until its owner follows the
 * link it is sent, and the old address is told of the change (CONTRACT §10). `verificationLink`
 * says what became of that link (null: the address did not change).
 */
export async function saveProfile(
  req: FastifyRequest & { user: { id: number } },
  deps: ProfileFlowDeps,
  body: ProfileBody,
): Promise<{ user: UserRecord; verificationLink: VerificationLinkOutcome | null }> {
  await limitEmailChange(req, deps.limits, deps.accounts, body.email)
  const saved = await deps.accounts.updateProfile(req.user.id, body)
  if (!saved) throw unauthorized()
  const verificationLink =
    saved.previousEmail === null ? null : await deps.verification.addressChanged(saved.user, saved.previousEmail)
  return { user: saved.user, verificationLink }
}
