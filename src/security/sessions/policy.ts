const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** Lifetimes and bounds of server-side sessions (docs/adr/0008 explains each choice). */
export interface SessionPolicy {
  /** A signed-in session ends after this long without a request. */
  readonly userIdleMs: number
  /** A signed-in session ends this long after sign-in, however active. */
  readonly userAbsoluteMs: number
  /** An anonymous session only anchors CSRF tokens, so it lives as long as one of its tokens can. */
  readonly anonymousIdleMs: number
  readonly anonymousAbsoluteMs: number
  /** last_seen_at is written at most this often per session: sliding expiry without a write per request. */
  readonly touchIntervalMs: number
  /** Expired rows are deleted at most this often per instance, when a session is created. */
  readonly purgeIntervalMs: number
  /**
   * Anonymous sessions kept at most (checked at each purge; the least recently seen go first).
   * A flood of `GET /csrf-token` from fresh clients cannot grow the table without bound.
   */
  readonly maxAnonymousSessions: number
}

export const SESSION_USER_IDLE_MS = 7 * DAY_MS
export const SESSION_USER_ABSOLUTE_MS = 30 * DAY_MS
export const SESSION_ANONYMOUS_ABSOLUTE_MS = DAY_MS
export const SESSION_TOUCH_INTERVAL_MS = MINUTE_MS
export const SESSION_PURGE_INTERVAL_MS = MINUTE_MS
export const MAX_ANONYMOUS_SESSIONS = 100_000

/**
 * The defaults. An anonymous session's idle expiry is the CSRF token lifetime plus one touch
 * interval: the session never dies before a token issued for it (touches are throttled), and
 * an abandoned one goes within the hour by default.
 */
export function defaultSessionPolicy(csrfTokenTtlMs: number): SessionPolicy {
  return {
    userIdleMs: SESSION_USER_IDLE_MS,
    userAbsoluteMs: SESSION_USER_ABSOLUTE_MS,
    anonymousIdleMs: csrfTokenTtlMs + SESSION_TOUCH_INTERVAL_MS,
    anonymousAbsoluteMs: Math.max(SESSION_ANONYMOUS_ABSOLUTE_MS, csrfTokenTtlMs + SESSION_TOUCH_INTERVAL_MS),
    touchIntervalMs: SESSION_TOUCH_INTERVAL_MS,
    purgeIntervalMs: SESSION_PURGE_INTERVAL_MS,
    maxAnonymousSessions: MAX_ANONYMOUS_SESSIONS,
  }
}
