import { USER_VIEW_SCHEMA } from '../accounts/user.presenter.ts'
import { MAX_PER_PAGE } from './admin.service.ts'
import type { Role } from './admin.repository.ts'

const ROLES = ['learner', 'instructor', 'admin'] as const

export const userIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const
export interface UserIdParams {
  id: number
}

/** Unknown query parameters are ignored (a cache-buster must not break a listing); bodies are strict. */
export const listUsersQuerySchema = {
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 254 },
    page: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    per_page: { type: 'integer', minimum: 1, maximum: MAX_PER_PAGE },
  },
} as const
export interface ListUsersQuery {
  q?: string
  page?: number
  per_page?: number
}

export const updateUserBodySchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    role: { type: 'string', enum: ROLES },
    disabled: { type: 'boolean' },
  },
} as const
export interface UpdateUserBody {
  role?: Role
  disabled?: boolean
}

/** USER of CONTRACT §5 plus `disabled`, which only admins see. */
export const ADMIN_USER_VIEW_SCHEMA = {
  ...USER_VIEW_SCHEMA,
  required: [...USER_VIEW_SCHEMA.required, 'disabled'],
  properties: { ...USER_VIEW_SCHEMA.properties, disabled: { type: 'boolean' } },
} as const

export const userListResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['users', 'total', 'page', 'per_page'],
  properties: {
    users: { type: 'array', items: ADMIN_USER_VIEW_SCHEMA },
    total: { type: 'integer' },
    page: { type: 'integer' },
    per_page: { type: 'integer' },
  },
} as const

export const userResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['user'],
  properties: { user: ADMIN_USER_VIEW_SCHEMA },
} as const

/** POST /api/admin/users/:id/password-reset → 201. */
export const passwordResetLinkSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['reset_url', 'expires_at'],
  properties: { reset_url: { type: 'string' }, expires_at: { type: 'string' } },
} as const
