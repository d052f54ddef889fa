import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../lib/clock.ts'

/**
 * A CSRF token (CONTRACT §4, docs/adr/0008):
 *
 *   base64url( nonce[16] ‖ issued_at_ms[8, big-endian] ‖ HMAC-SHA256(key, session_id ‖ 0x00 ‖ nonce ‖ issued_at_ms) )
 *
 * Nothing is stored per token. The random nonce makes every token a different string (so a
 * token in a compressed page reveals nothing through BREACH-style length oracles); the MAC
 * binds it to the session id, so it dies with the session and with every rotation; issued_at
 * gives its age against the injected clock. The key is derived from SESSION_SECRET under its
 * own label (sessions/keys.ts).
 */
const NONCE_BYTES = 16
const ISSUED_AT_BYTES = 8
const MAC_BYTES = 32
const TOKEN_BYTES = NONCE_BYTES + ISSUED_AT_BYTES + MAC_BYTES
/** 56 bytes in unpadded base64url. */
export const CSRF_TOKEN_LENGTH = Math.ceil((TOKEN_BYTES * 4) / 3)
export const CSRF_TOKEN_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${CSRF_TOKEN_LENGTH}}$`)

export type CsrfVerdict = 'valid' | 'invalid' | 'expired'

export interface CsrfTokens {
  issue(sessionId: string): string
  /** `invalid` for anything malformed, forged, or bound to another (or no) session; `expired` only for a genuine token of this session that is too old. */
  verify(sessionId: string | null, token: unknown): CsrfVerdict
}

export function createCsrfTokens(deps: { key: Buffer; clock: Clock; ttlMs: number }): CsrfTokens {
  const { key, clock, ttlMs } = deps
  if (key.length < 32) throw new Error('CSRF key must be at least 32 bytes')

  const mac = (sessionId: string, nonce: Buffer, issuedAt: Buffer) =>
    createHmac('sha256', key).update(sessionId, 'utf8').update(Buffer.of(0)).update(nonce).update(issuedAt).digest()

  return {
    issue(sessionId) {
      const nonce = randomBytes(NONCE_BYTES)
      const issuedAt = Buffer.alloc(ISSUED_AT_BYTES)
      issuedAt.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(clock.now()))))
      return Buffer.concat([nonce, issuedAt, mac(sessionId, nonce, issuedAt)]).toString('base64url')
    },

    verify(sessionId, token) {
      if (typeof token !== 'string' || !CSRF_TOKEN_PATTERN.test(token)) return 'invalid'
      if (sessionId === null) return 'invalid'
      const raw = Buffer.from(token, 'base64url')
      // Canonical encoding only: the last character carries spare bits, and a token must be one string.
      if (raw.length !== TOKEN_BYTES || raw.toString('base64url') !== token) return 'invalid'
      const nonce = raw.subarray(0, NONCE_BYTES)
      const issuedAt = raw.subarray(NONCE_BYTES, NONCE_BYTES + ISSUED_AT_BYTES)
      const given = raw.subarray(NONCE_BYTES + ISSUED_AT_BYTES)
      // Constant-time: the comparison must not tell an attacker how many bytes they got right.
      if (!timingSafeEqual(given, mac(sessionId, nonce, issuedAt))) return 'invalid'
      // Age is judged only once the MAC is good: "expired" is never said about a forgery.
      const issuedAtMs = Number(issuedAt.readBigUInt64BE())
      return clock.now() - issuedAtMs >= ttlMs ? 'expired' : 'valid'
    },
  }
}
