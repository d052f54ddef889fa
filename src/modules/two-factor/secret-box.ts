import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { deriveKey, KEY_LABELS } from '../../security/sessions/keys.ts'

const ALGORITHM = 'aes-256-gcm'
/** 96 bits, GCM's native nonce size: random per sealing, so a key never sees a nonce twice in practice. */
const IV_BYTES = 12
const TAG_BYTES = 16
const VERSION = 'v1'

export interface SecretBox {
  seal(userId: number, plaintext: string): string
  /** The plaintext, or throws when the sealed text was altered, moved to another user, or sealed under another key. */
  open(userId: number, sealed: string): string
}

/**
 * AES-256-GCM under a key derived from the session secret for this purpose alone. The user id is
 * the associated data: a sealed secret copied onto another account's row does not open there, so
 * someone who can write the table still cannot give themselves a victim's authenticator.
 */
export function createSecretBox(sessionSecret: string): SecretBox {
  const key = deriveKey(sessionSecret, KEY_LABELS.totpSecret)
  const associatedData = (userId: number) => Buffer.from(`lectern/user/${userId}`, 'utf8')
  return {
    seal(userId, plaintext) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(associatedData(userId))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'))
      return [VERSION, ...parts].join('.')
    },
    open(userId, sealed) {
      const [version, iv, ciphertext, tag, ...rest] = sealed.split('.')
      if (version !== VERSION || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
        throw new Error('sealed secret: unknown format')
      }
      const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES })
      decipher.setAAD(associatedData(userId))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
    },
  }
}
