import { createHmac, randomBytes } from 'node:crypto'
import { deriveKey, KEY_LABELS } from '../../security/sessions/keys.ts'

export const RECOVERY_CODE_COUNT = 10
/**
 * 12 characters of Crockford's base32 (no i, l, o, u): 60 bits each, shown as three groups of
 * four (`k7dm-4xq2-9fhw`). Typed back, o reads as 0 and i or l as 1, so nothing misread from
 * paper fails.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const GROUPS = 3
const GROUP_CHARS = 4
const CODE_CHARS = GROUPS * GROUP_CHARS

/** A fresh set of codes, as shown to the owner (once). */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(CODE_CHARS)
    // 256 is a multiple of 32: every byte maps to a letter without bias.
    const letters = [...bytes].map((byte) => ALPHABET[byte % ALPHABET.length]!).join('')
    const groups = []
    for (let at = 0; at < CODE_CHARS; at += GROUP_CHARS) groups.push(letters.slice(at, at + GROUP_CHARS))
    return groups.join('-')
  })
}

/**
 * What was typed, as a code: letters lower-cased, separators and spaces dropped. null when it
 * cannot be a recovery code (so it is not looked up at all).
 */
export function normalizeRecoveryCode(typed: string): string | null {
  const compact = typed.normalize('NFKC').toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1')
  if (compact.length !== CODE_CHARS) return null
  for (const char of compact) if (!ALPHABET.includes(char)) return null
  return compact
}

/**
 * The stored form of a code: HMAC-SHA-256 under a key derived from the session secret. A slow
 * password hash (argon2) is for secrets people choose, which are guessable; these are 60 random
 * bits, so a fast keyed hash already puts them beyond any search — and the key, which is not in
 * the database, means a copy of the table alone cannot even start one. Being fast and
 * deterministic, the hash can be looked up and spent in one atomic UPDATE.
 */
export function createRecoveryCodeHasher(sessionSecret: string): (normalizedCode: string) => string {
  const key = deriveKey(sessionSecret, KEY_LABELS.recoveryCode)
  return (code) => createHmac('sha256', key).update(code, 'utf8').digest('hex')
}
