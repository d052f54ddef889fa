import { avatarUrl } from '../avatars/avatar-url.ts'
import type { UserRecord } from './accounts.repository.ts'

/** USER of CONTRACT §5: exactly these fields, never a password hash. */
export interface UserView {
  id: number
  username: string
  email: string
  /** Whether the owner followed a link sent to `email` (CONTRACT §10). */
  email_verified: boolean
  display_name: string
  bio: string
  role: UserRecord['role']
  avatar_url: string | null
  created_at: string
  /** Whether the account has a second factor in force: TOTP or a passkey (CONTRACT §11). */
  two_factor_enabled: boolean
}

/**
 * JSON Schema of USER, used as the response schema of every route that returns one: the
 * serializer writes only the listed properties, so a column added to a query can never leak
 * into a response by accident (a second line of defence behind the presenter).
 */
export const USER_VIEW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'username',
    'email',
    'email_verified',
    'display_name',
    'bio',
    'role',
    'avatar_url',
    'created_at',
    'two_factor_enabled',
  ],
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    display_name: { type: 'string' },
    bio: { type: 'string' },
    role: { type: 'string', enum: ['learner', 'instructor', 'admin'] },
    avatar_url: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    two_factor_enabled: { type: 'boolean' },
  },
} as const

/** `{"user": USER}`, the body of register, login, me and profile responses. */
export const USER_ENVELOPE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  properties: { user: USER_VIEW_SCHEMA },
} as const

/**
 * Picks the public fields one by one: nothing reaches a client unless it is named here.
 * `twoFactorEnabled` comes from the second-factor sources (modules/two-factor/second-factors.ts).
 */
export function presentUser(user: UserRecord, twoFactorEnabled: boolean): UserView {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    email_verified: user.email_verified === 1,
    display_name: user.display_name,
    bio: user.bio,
    role: user.role,
    // Where the avatar is served from; null until the user uploads one (modules/avatars).
    avatar_url: user.avatar_file === null ? null : avatarUrl(user.id, user.avatar_file),
    created_at: new Date(user.created_at).toISOString(),
    two_factor_enabled: twoFactorEnabled,
  }
}
