import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits: 43 characters in a link. */
const TOKEN_BYTES = 32

/**
 * The digest under which a link's token is stored and looked up. The token itself is never
 * stored, so a copy of the database opens no account. A plain SHA-256 is enough: the token is
 * 256 random bits, so there is nothing to guess from the digest.
 */
export const oneTimeTokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex')

/** A fresh token for a link (password reset, email verification) and the digest to store. */
export function newOneTimeToken(): { token: string; tokenHash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  return { token, tokenHash: oneTimeTokenHash(token) }
}
