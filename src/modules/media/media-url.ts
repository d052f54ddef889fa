/**
 * Where a lesson image is served from: `/media/<sha256>.<ext>`, the id being the hex SHA-256 of
 * the stored (re-encoded) bytes. The URL names the bytes, so it can be cached for a year as
 * immutable, and the same image stored twice is one row and one URL.
 */
export const MEDIA_PATH_PREFIX = '/media'

/** The longer edge of a stored lesson image (CONTRACT §12). */
export const MEDIA_MAX_EDGE_PX = 1600

export type StoredMediaType = 'image/jpeg' | 'image/png'

const EXTENSION: Readonly<Record<StoredMediaType, string>> = { 'image/jpeg': 'jpg', 'image/png': 'png' }

/** What the last URL segment may look like; anything else is a 404 without a query. */
export const MEDIA_FILE_NAME_PATTERN = /^([0-9a-f]{64})\.(jpg|png)$/

export function mediaUrl(sha256Hex: string, contentType: StoredMediaType): string {
  if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new TypeError('mediaUrl expects a hex SHA-256')
  return `${MEDIA_PATH_PREFIX}/${sha256Hex}.${EXTENSION[contentType]}`
}

/** The id and type named by a served file name, or null. */
export function parseMediaFileName(fileName: string): { sha256: string; contentType: StoredMediaType } | null {
  const match = MEDIA_FILE_NAME_PATTERN.exec(fileName)
  if (!match) return null
  return { sha256: match[1]!, contentType: match[2] === 'jpg' ? 'image/jpeg' : 'image/png' }
}

/** A site-relative URL of stored media (what the renderer lets through as an image). */
export const MEDIA_URL_PATTERN = /^\/media\/[0-9a-f]{64}\.(?:jpg|png)$/
