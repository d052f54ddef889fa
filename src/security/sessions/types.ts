import type { FastifyRequest } from 'fastify'

/**
 * The session of the current request (server-side; the cookie holds only a random id).
 * Implemented by security/sessions; used by the accounts module and the CSRF guard.
 */
export interface RequestSession {
  /** Server-side id of the session (a hash of the cookie value), or null when there is none yet. */
  readonly id: string | null
  /** Creates a session if there is none (and sets the cookie); returns its id. */
  ensure(): Promise<string>
  /**
   * Signs `userId` in: the session id is rotated (no fixation), so CSRF tokens issued before
   * stop working. Also used on privilege change.
   */
  signIn(userId: number): Promise<void>
  /** Ends this session (server-side row deleted, cookie cleared). */
  signOut(): Promise<void>
}

/** Session operations outside the current request (admin actions, password change). */
export interface SessionAdmin {
  /** Ends every session of the user, except the current request's when `except` is given. Returns how many. */
  endAllForUser(userId: number, options?: { except?: FastifyRequest }): Promise<number>
}

declare module 'fastify' {
  interface FastifyRequest {
    session: RequestSession
  }
  interface FastifyInstance {
    sessions: SessionAdmin
  }
}
