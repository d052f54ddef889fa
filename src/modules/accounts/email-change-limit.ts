import type { FastifyRequest } from 'fastify'
import { clientKey } from '../../security/client-key.ts'
import type { RateLimits } from '../../security/rate-limit/service.ts'
import type { AccountsService } from './accounts.service.ts'
import { lowerKey } from './accounts.repository.ts'

/**
 * A change of email address answers whether the new address is taken (409) or free, so each
 * one is counted, per user and per address, before it is tried (RATE_LIMIT_EMAIL_CHANGE and
 * RATE_LIMIT_EMAIL_CHANGE_IP). Saving a profile with its address unchanged is not a change.
 */
export async function limitEmailChange(
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
