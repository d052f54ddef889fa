import { createHmac, hkdfSync } from 'node:crypto'

// Derived like the other keys of SESSION_SECRET (security/sessions/keys.ts), each under a label of its own.
const HKDF_SALT = 'lectern/session-secret'
const KEY_BYTES = 32
/** 128 bits of the MAC: collisions are out of reach, values stay short. */
const HASH_HEX_CHARS = 32

/**
 * A keyed hash (HMAC-SHA-256 under a key derived from the session secret for `label`): a value
 * that can be compared and counted without being revealed, and that nobody without the secret
 * can recompute from guesses (an IPv4 address or a username is easily guessed).
 */
export function createKeyedHasher(sessionSecret: string, label: string): (value: string) => string {
  const key = Buffer.from(hkdfSync('sha256', sessionSecret, HKDF_SALT, label, KEY_BYTES))
  return (value) => createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, HASH_HEX_CHARS)
}
