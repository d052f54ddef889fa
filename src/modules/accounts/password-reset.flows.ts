/** The two steps of password recovery as a request makes them, shared by the API and the pages. */
import type { FastifyRequest } from 'fastify'
import { securityEvent, unhandledError } from '../../http/request-context.ts'
import { HttpError } from '../../http/errors.ts'
import { INVALID_RESET_LINK_MESSAGE, type PasswordResetService } from './password-reset.service.ts'

/**
 * A request for a reset link (POST /api/password/forgot and the /forgot-password page), worked
 * out after the answer has gone: the look-up, the cap and the email take the same time for no
 * client, known address or not. What came of it is logged (`password_reset_requested`), never
 * thrown or told to the client.
 */
export function requestResetLinkAfterAnswer(req: FastifyRequest, resets: PasswordResetService, email: string): void {
  setImmediate(() => {
    resets.request(email).then(
      ({ outcome, userId }) => securityEvent(req, 'password_reset_requested', { outcome, target_user_id: userId }),
      (error: unknown) => unhandledError(req, error, 'password reset request'),
    )
  })
}

/**
 * Sets a new password with a reset link (POST /api/password/reset and the /reset-password page),
 * logging `password_reset`, or `auth_failure` for a link that does not work (guessing shows in
 * the security log). Refusals are thrown as the service's errors. Only a link that does not work
 * keeps its RATE_LIMIT_PASSWORD_RESET attempt (the routes also waive the limit for one that
 * works: resetLinkWaiver).
 */
export async function resetPasswordWithLink(
  req: FastifyRequest,
  resets: PasswordResetService,
  token: string,
  newPassword: string,
): Promise<void> {
  try {
    const { userId, signedOut } = await resets.reset(token, newPassword)
    securityEvent(req, 'password_reset', { target_user_id: userId, signed_out: signedOut, method: 'link' })
  } catch (error) {
    if (error instanceof HttpError && error.publicMessage === INVALID_RESET_LINK_MESSAGE) {
      securityEvent(req, 'auth_failure', { reason: 'invalid_reset_link' })
    } else if (error instanceof HttpError) {
      await req.refundRateLimits() // a working link with a password the rules refuse: no guess
    }
    throw error
  }
  // A link that worked was no guess: its attempt goes back, so a class's resets leave the
  // address's RATE_LIMIT_PASSWORD_RESET to the requests and tokens it is meant for.
  await req.refundRateLimits()
}

/**
 * The reset routes' rateLimitWaiver: a link that works is let through a full RATE_LIMIT_PASSWORD_RESET
 * counter (a class imported together, setting its passwords behind one school address), as an
 * invitation that works is through RATE_LIMIT_REGISTER; unknown, used and expired tokens stay limited.
 */
export function resetLinkWaiver(resets: PasswordResetService, tokenOf: (req: FastifyRequest) => unknown) {
  return (req: FastifyRequest) => resets.linkWorks(tokenOf(req))
}
