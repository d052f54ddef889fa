/**
 * Keys whose values are secrets wherever they appear in a log line's details: among them one-time
 * codes (`code`, `recovery_codes`) and anything of an authenticator (`otpauth_url`, `totp_…`).
 */
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|cookie|authori[sz]ation|session|csrf|api[-_]?key|hash|otp|^(recovery_)?codes?$/i

export const REDACTED = '[REDACTED]'
const MAX_DEPTH = 6

/**
 * A copy of `value` with every secret-looking field replaced. Applied to every `extra` object,
 * so a careless `extra: { body }` cannot leak a password into the logs.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_DEPTH) return '[Truncated]'
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1))
  if (value instanceof Date) return value.toISOString()
  const copy: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = SECRET_KEY.test(key) ? REDACTED : redactSecrets(inner, depth + 1)
  }
  return copy
}
