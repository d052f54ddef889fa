import type { AuditPosition } from './audit.repository.ts'

const POSITION = /^(\d{1,16}):(\d{1,16})$/

/**
 * The `next` cursor: the last row's (timestamp, id), base64url-encoded. Opaque to clients, and
 * strict when it comes back: anything that is not exactly what encodeCursor makes is refused,
 * never guessed at.
 */
export function encodeCursor(position: AuditPosition): string {
  return Buffer.from(`${position.timestamp}:${position.id}`, 'utf8').toString('base64url')
}

/** The position a cursor names, or null when it is not one of ours. */
export function decodeCursor(cursor: string): AuditPosition | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return null
  const match = POSITION.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!match) return null
  const position = { timestamp: Number(match[1]), id: Number(match[2]) }
  if (!Number.isSafeInteger(position.timestamp) || !Number.isSafeInteger(position.id)) return null
  // One spelling per position: a cursor with other padding bits or leading zeros is not ours.
  return encodeCursor(position) === cursor ? position : null
}
