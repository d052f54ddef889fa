import type { Generated } from 'kysely'

/**
 * The typed shape of every table, for queries. Portable column conventions (see docs/adr/0002):
 * timestamps are integer milliseconds since the epoch, flags are 0/1 integers, ids are integers.
 * Migrations never import this file: they describe the schema as it was then.
 */
export interface UsersTable {
  id: Generated<number>
  username: string
  /** Lower-cased copy: uniqueness and look-ups ignore case on every database. */
  username_lower: string
  email: string
  email_lower: string
  password_hash: string
  display_name: string
  bio: string
  role: 'learner' | 'instructor' | 'admin'
  disabled: number
  created_at: number
  updated_at: number
}

/** Server-side sessions (docs/adr/0008): the cookie's random value is never stored, only its SHA-256. */
export interface SessionsTable {
  /** Hex SHA-256 of the cookie value; also the session id CSRF tokens are bound to. */
  id_hash: string
  /** null for an anonymous session. */
  user_id: number | null
  created_at: number
  last_seen_at: number
  idle_expires_at: number
  absolute_expires_at: number
}

/** Blocks of the in-memory rate limiter, for `lectern rate-limits` (docs/adr/0010). */
export interface RateLimitBlocksTable {
  /** The counter key, `POLICY:KIND:VALUE` (a username appears only as its keyed hash). */
  key: string
  policy: string
  key_kind: string
  block_id: string
  blocked_until: number
  created_at: number
}

export interface AppMetaTable {
  key: string
  value: string
}

/** A user's current avatar: re-encoded bytes, never the upload (modules/avatars). */
export interface AvatarsTable {
  user_id: number
  content_type: 'image/jpeg' | 'image/png'
  data: Buffer
  /** Hex SHA-256 of `data`: the strong ETag. */
  sha256: string
  /** The last segment of the avatar's URL, `<hash prefix>.<ext>`. */
  file_name: string
  width: number
  height: number
  updated_at: number
}

export interface Database {
  users: UsersTable
  app_meta: AppMetaTable
  sessions: SessionsTable
  rate_limit_blocks: RateLimitBlocksTable
  avatars: AvatarsTable
}
