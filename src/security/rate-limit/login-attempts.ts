import type { FastifyRequest } from 'fastify'
import type { RateLimits } from './service.ts'

/** The outcome fields the failed-login limit needs from the accounts module's LoginOutcome. */
interface LoginAttemptOutcome {
  status: 'success' | 'invalid_credentials' | 'disabled'
  usernameKey: string
}

/**
 * RATE_LIMIT_LOGIN_USER as the accounts module's login hooks: before the password is
 * verified, a username that has used up its failures is refused with the same 429 as the
 * per-IP limit; a wrong username or password counts a failure; a successful login resets the
 * count. A disabled account's right password is neither (the 403 says so to its owner only).
 */
export function loginAttemptLimits(limits: RateLimits) {
  return {
    beforeAttempt: (req: FastifyRequest, usernameKey: string) => limits.loginUser.check(req, usernameKey),
    async afterAttempt(_req: FastifyRequest, outcome: LoginAttemptOutcome) {
      if (outcome.status === 'invalid_credentials') await limits.loginUser.consumeFailure(outcome.usernameKey)
      else if (outcome.status === 'success') await limits.loginUser.reset(outcome.usernameKey)
    },
  }
}
