import type { FastifyRequest } from 'fastify'
import type { Clock } from '../../lib/clock.ts'
import type { TwoFactorRepository } from './two-factor.repository.ts'

/** How long the second step may follow the password (CONTRACT §11), on the injected clock. */
export const SIGN_IN_CHALLENGE_TTL_MS = 5 * 60 * 1000

export interface PendingSignIn {
  userId: number
  /**
   * The failed-login counter of the username typed. The password step gave back its own
   * reservations (a right password is no failure) but leaves this counter as it was: only a
   * completed sign-in starts it afresh, so someone who knows the password but not the second
   * factor cannot clear the count of guesses made against the account.
   */
  loginUserKey: string
  startedAt: number
}

/**
 * The half-done sign-in of a session: kept server-side with the session (never in the cookie),
 * so it ends with the session and cannot be carried to another browser.
 */
export function createSignInChallenges(deps: { repository: TwoFactorRepository; clock: Clock }) {
  const { repository, clock } = deps
  return {
    /** After a right password for an account with a second factor: the session is not signed in yet. */
    async start(req: FastifyRequest, userId: number, loginUserKey: string): Promise<void> {
      const sessionId = await req.session.ensure()
      const now = clock.now()
      // Abandoned challenges of any session go as new ones come: the table stays small.
      await repository.purgeChallenges(now - SIGN_IN_CHALLENGE_TTL_MS)
      await repository.startChallenge(sessionId, { user_id: userId, login_user_key: loginUserKey, started_at: now })
    },

    /** The session's pending sign-in: `expired` once five minutes have passed (and then forgotten). */
    async find(
      req: FastifyRequest,
    ): Promise<{ status: 'pending'; pending: PendingSignIn } | { status: 'none' | 'expired' }> {
      const sessionId = req.session.id
      if (sessionId === null) return { status: 'none' }
      const row = await repository.findChallenge(sessionId)
      if (!row) return { status: 'none' }
      if (clock.now() - row.started_at >= SIGN_IN_CHALLENGE_TTL_MS) {
        await repository.endChallenge(sessionId)
        return { status: 'expired' }
      }
      return {
        status: 'pending',
        pending: { userId: row.user_id, loginUserKey: row.login_user_key, startedAt: row.started_at },
      }
    },

    async end(req: FastifyRequest): Promise<void> {
      if (req.session.id !== null) await repository.endChallenge(req.session.id)
    },
  }
}

export type SignInChallenges = ReturnType<typeof createSignInChallenges>
