/** The two steps of email verification as a request makes them, shared by the API and the pages. */
import type { FastifyRequest } from 'fastify'
import { HttpError } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { UserRecord } from './accounts.repository.ts'
import {
  INVALID_VERIFICATION_LINK_MESSAGE,
  type EmailVerificationService,
  type VerificationLinkOutcome,
} from './email-verification.service.ts'

/**
 * Sends the signed-in owner a fresh link (POST /api/email/verification and the profile's button).
 * What came of it (sent, capped, already verified) is returned for the page, and logged.
 */
export async function requestVerificationLink(
  req: FastifyRequest,
  verification: EmailVerificationService,
  user: UserRecord,
): Promise<VerificationLinkOutcome> {
  const outcome = await verification.sendLink(user)
  securityEvent(req, 'email_verification_requested', { outcome })
  return outcome
}

/**
 * Verifies an address with a link (POST /api/email/verify and the /verify-email page), logging
 * `email_verified`, or `auth_failure` for a link that does not work. Refusals are thrown.
 */
export async function verifyEmailWithLink(
  req: FastifyRequest,
  verification: EmailVerificationService,
  token: string,
): Promise<{ userId: number }> {
  try {
    const { userId } = await verification.verify(token)
    securityEvent(req, 'email_verified', { target_user_id: userId })
    return { userId }
  } catch (error) {
    if (error instanceof HttpError && error.publicMessage === INVALID_VERIFICATION_LINK_MESSAGE) {
      securityEvent(req, 'auth_failure', { reason: 'invalid_verification_link' })
    }
    throw error
  }
}
