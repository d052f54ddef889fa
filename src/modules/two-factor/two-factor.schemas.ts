import { givenPassword } from '../accounts/accounts.schemas.ts'

/** Long enough for a recovery code typed with spaces or dashes; any string is checked, and a malformed one is wrong. */
export const CODE_MAX_LENGTH = 64

export interface CodeBody {
  code: string
}
export const codeBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['code'],
  properties: { code: { type: 'string', minLength: 1, maxLength: CODE_MAX_LENGTH } },
} as const

export interface CurrentPasswordBody {
  current_password: string
}
export const currentPasswordBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['current_password'],
  properties: { current_password: givenPassword },
} as const

export const setupResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['secret', 'otpauth_url'],
  properties: { secret: { type: 'string' }, otpauth_url: { type: 'string' } },
} as const

export const recoveryCodesResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['recovery_codes'],
  properties: { recovery_codes: { type: 'array', items: { type: 'string' } } },
} as const
