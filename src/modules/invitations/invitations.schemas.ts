import { EMAIL_MAX_LENGTH, LINK_TOKEN_MAX_LENGTH } from '../accounts/accounts.schemas.ts'
import { MAX_INVITATIONS_PER_REQUEST } from './invitations.service.ts'

export const INVITED_ROLES = ['learner', 'instructor'] as const

/** POST /api/admin/invitations (CONTRACT §15). */
export interface InviteBody {
  emails: string[]
  role?: (typeof INVITED_ROLES)[number]
  course?: string
}
export const inviteBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['emails'],
  properties: {
    emails: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_INVITATIONS_PER_REQUEST,
      items: { type: 'string', format: 'email', maxLength: EMAIL_MAX_LENGTH },
    },
    role: { type: 'string', enum: INVITED_ROLES },
    course: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const

export const inviteResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['invitations', 'errors'],
  properties: {
    invitations: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['email', 'invite_url', 'expires_at'],
        properties: { email: { type: 'string' }, invite_url: { type: 'string' }, expires_at: { type: 'string' } },
      },
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['email', 'error'],
        properties: { email: { type: 'string' }, error: { type: 'string' } },
      },
    },
  },
} as const

const pendingInvitationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'email', 'role', 'course', 'invited_by', 'created_at', 'expires_at'],
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    role: { type: 'string' },
    course: { type: ['string', 'null'] },
    invited_by: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    expires_at: { type: 'string' },
  },
} as const

export const pendingListResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['invitations'],
  properties: { invitations: { type: 'array', items: pendingInvitationSchema } },
} as const

export const invitationIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const
export interface InvitationIdParams {
  id: number
}

export const invitationTokenParamsSchema = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: LINK_TOKEN_MAX_LENGTH } },
} as const
export interface InvitationTokenParams {
  token: string
}

/** GET /api/invitations/<token>: what the person holding the link is invited as. */
export const invitationViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'role', 'course'],
  properties: { email: { type: 'string' }, role: { type: 'string' }, course: { type: ['string', 'null'] } },
} as const
