import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../security/passwords.ts'

/**
 * Request bodies of CONTRACT §5. Every schema sets additionalProperties: false, so `role`,
 * `is_admin` or any other unexpected field is a 400 naming it (no mass assignment), and
 * bodies are never coerced (http/validation.ts).
 */

export const USERNAME_MIN_LENGTH = 3
export const USERNAME_MAX_LENGTH = 32
export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]+$'
/** RFC 5321's limit on a forward path. */
export const EMAIL_MAX_LENGTH = 254
export const DISPLAY_NAME_MAX_LENGTH = 64
export const BIO_MAX_LENGTH = 500

const username = {
  type: 'string',
  minLength: USERNAME_MIN_LENGTH,
  maxLength: USERNAME_MAX_LENGTH,
  pattern: USERNAME_PATTERN,
} as const
const email = { type: 'string', format: 'email', maxLength: EMAIL_MAX_LENGTH } as const
const newPassword = { type: 'string', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH } as const
/** A password being checked, not chosen: any non-empty string up to the maximum. */
export const givenPassword = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH } as const

export interface RegisterBody {
  username: string
  email: string
  password: string
}
export const registerBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'email', 'password'],
  properties: { username, email, password: newPassword },
} as const

export interface LoginBody {
  username: string
  password: string
}
export const loginBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  // Any non-empty name is looked up: a malformed one is simply unknown (401), like any other.
  properties: { username: { type: 'string', minLength: 1, maxLength: EMAIL_MAX_LENGTH }, password: givenPassword },
} as const

export interface ProfileBody {
  display_name?: string
  bio?: string
  email?: string
}
export const profileBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // Bounds the input only; the limits apply after trimming and normalisation (accounts.service.ts).
    display_name: { type: 'string', maxLength: DISPLAY_NAME_MAX_LENGTH * 4 },
    bio: { type: 'string', maxLength: BIO_MAX_LENGTH * 4 },
    email,
  },
} as const

export interface PasswordChangeBody {
  current_password: string
  new_password: string
}
export const passwordChangeBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['current_password', 'new_password'],
  properties: { current_password: givenPassword, new_password: newPassword },
} as const

export interface ForgotPasswordBody {
  email: string
}
export const forgotPasswordBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['email'],
  // Any string is looked up: a malformed address is simply unknown (202), like any other.
  properties: { email: { type: 'string', minLength: 1, maxLength: EMAIL_MAX_LENGTH } },
} as const

/** Far longer than any token Lectern's links carry (43 characters), so no real link is refused by length. */
export const LINK_TOKEN_MAX_LENGTH = 200

export interface ResetPasswordBody {
  token: string
  new_password: string
}
export const resetPasswordBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['token', 'new_password'],
  properties: { token: { type: 'string', minLength: 1, maxLength: LINK_TOKEN_MAX_LENGTH }, new_password: newPassword },
} as const

export interface VerifyEmailBody {
  token: string
}
export const verifyEmailBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: LINK_TOKEN_MAX_LENGTH } },
} as const

/** POST /api/register with an invitation (CONTRACT §15): the address is the invitation's. */
export interface InvitedRegisterBody {
  invitation: string
  username: string
  password: string
}

/**
 * POST /api/register: `{username, email, password}`, or `{invitation, username, password}`. An
 * email beside an invitation is refused by the handler, which can say why.
 */
export const registerRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username,
    email,
    password: newPassword,
    invitation: { type: 'string', minLength: 1, maxLength: LINK_TOKEN_MAX_LENGTH },
  },
  if: { required: ['invitation'] },
  then: {},
  else: { required: ['email'] },
} as const
