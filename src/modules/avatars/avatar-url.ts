/**
 * Where an avatar is served from: `/avatars/<userId>/<hash>.<ext>`, the hash being the first
 * hex digits of the SHA-256 of the stored bytes. A new avatar is a new URL, so the current one
 * can be cached for a year as immutable and a replaced one is never shown from a cache.
 */

export const AVATARS_PATH_PREFIX = '/avatars'

/** 64 bits of the hash: two successive avatars of one user will not collide. */
export const AVATAR_HASH_HEX_CHARS = 16

export type StoredAvatarType = 'image/jpeg' | 'image/png'

const EXTENSION: Readonly<Record<StoredAvatarType, string>> = { 'image/jpeg': 'jpg', 'image/png': 'png' }

/** What a file name in an avatar URL may look like; anything else is a 404 without a query. */
export const AVATAR_FILE_NAME_PATTERN = new RegExp(`^[0-9a-f]{${AVATAR_HASH_HEX_CHARS}}\\.(?:jpg|png)$`)

/** The last URL segment for stored bytes with this hash and type, e.g. `3fa9c1d2e4b5a6f7.jpg`. */
export function avatarFileName(sha256Hex: string, contentType: StoredAvatarType): string {
  if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new TypeError('avatarFileName expects a hex SHA-256')
  return `${sha256Hex.slice(0, AVATAR_HASH_HEX_CHARS)}.${EXTENSION[contentType]}`
}

export function avatarUrl(userId: number, fileName: string): string {
  return `${AVATARS_PATH_PREFIX}/${userId}/${fileName}`
}
