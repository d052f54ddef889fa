import { createHmac, hkdfSync } from 'node:crypto'

// Derived like the other keys of SESSION_SECRET (security/sessions/keys.ts), under a label of its own.
const HKDF_SALT = 'lectern/session-secret'
const LABEL = 'lectern/rate-limit-username/v1'
const KEY_BYTES = 32
/** 128 bits of the MAC: collisions between usernames are out of reach, keys stay short. */
const KEY_HEX_CHARS = 32

/**
 * The counter value for an attempted username: a keyed hash of its lower-cased form. Keyed, so
 * the counters (in Redis, in the block list, in logs) never reveal which usernames are being
 * tried, and nobody without the secret can tell which counter is whose by hashing guesses.
 */
export function createUsernameKeyer(sessionSecret: string): (username: string) => string {
  const key = Buffer.from(hkdfSync('sha256', sessionSecret, HKDF_SALT, LABEL, KEY_BYTES))
  return (username) =>
    createHmac('sha256', key).update(username.toLowerCase(), 'utf8').digest('hex').slice(0, KEY_HEX_CHARS)
}
