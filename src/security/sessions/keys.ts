import { hkdfSync } from 'node:crypto'

/**
 * Every key derived from SESSION_SECRET, each under its own label, so a value computed for one
 * purpose (a CSRF token's MAC) can never be replayed as another. Adding a use means adding a
 * label here, never reusing one.
 */
export const KEY_LABELS = {
  csrfToken: 'lectern/csrf-token/v1',
  /** AES-256-GCM key sealing TOTP secrets at rest (modules/two-factor/secret-box.ts). */
  totpSecret: 'lectern/totp-secret/v1',
  /** HMAC key of recovery codes' stored hashes (modules/two-factor/recovery-codes.ts). */
  recoveryCode: 'lectern/recovery-code/v1',
} as const

export type KeyLabel = (typeof KEY_LABELS)[keyof typeof KEY_LABELS]

const KEY_BYTES = 32
const HKDF_SALT = 'lectern/session-secret'

/** HKDF-SHA256 of the secret under `label`: 32 bytes, stable for a given secret and label. */
export function deriveKey(secret: string, label: KeyLabel): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, label, KEY_BYTES))
}
