import { readFileSync } from 'node:fs'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, normalizePassword } from './passwords.ts'

/**
 * What a new password must be (NIST SP 800-63B §5.1.1.2): 8–256 characters, not on a list of
 * the most common passwords, not the account's own username or email. No composition rules
 * (they push people towards "Password1!"), no truncation.
 */

export const COMMON_PASSWORDS_FILE = new URL('./common-passwords.txt', import.meta.url)

/** The shipped list as a set of lower-cased NFC strings. Comment lines (#) and blanks are skipped. */
export function loadCommonPasswords(file: URL | string = COMMON_PASSWORDS_FILE): Set<string> {
  return commonPasswordSet(readFileSync(file, 'utf8').split('\n'))
}

export function commonPasswordSet(entries: Iterable<string>): Set<string> {
  const set = new Set<string>()
  for (const entry of entries) {
    const word = entry.trim()
    if (word === '' || word.startsWith('#')) continue
    set.add(comparable(word))
  }
  return set
}

function comparable(value: string): string {
  return normalizePassword(value).toLowerCase()
}

/** Length in characters (Unicode code points), as JSON Schema's minLength/maxLength count them. */
export function characterCount(value: string): number {
  let count = 0
  for (const _ of value) count++
  return count
}

export interface PasswordContext {
  username: string
  email: string
}

export interface PasswordPolicy {
  /** null when the password may be used, else the message for the 400. */
  problem(password: string, context: PasswordContext): string | null
}

export function createPasswordPolicy(opts: { commonPasswords: ReadonlySet<string> }): PasswordPolicy {
  const { commonPasswords } = opts
  return {
    problem(password, context) {
      const normalized = normalizePassword(password)
      const length = characterCount(normalized)
      if (length < MIN_PASSWORD_LENGTH) return `Password must be at least ${MIN_PASSWORD_LENGTH} characters`
      if (length > MAX_PASSWORD_LENGTH) return `Password must be at most ${MAX_PASSWORD_LENGTH} characters`
      const lower = normalized.toLowerCase()
      if (commonPasswords.has(lower)) return 'Password is too common; choose another'
      if (new Set(lower).size === 1) return 'Password must not be one character repeated'
      if (lower === comparable(context.username)) return 'Password must not be the same as the username'
      if (lower === comparable(context.email)) return 'Password must not be the same as the email address'
      return null
    },
  }
}
