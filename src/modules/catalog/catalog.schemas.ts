import type { FastifyRequest } from 'fastify'
import { badRequest } from '../../http/errors.ts'
import {
  BODY_MAX_CHARS,
  DESCRIPTION_MAX_CHARS,
  MAX_PARTS,
  SLUG_MAX_CHARS,
  SLUG_PATTERN,
  TITLE_MAX_CHARS,
} from './fields.ts'
import { MAX_OWNERS } from './owners.service.ts'

/**
 * Request schemas shared by courses and ebooks. Bodies set additionalProperties: false, so an
 * unknown field (`created_by`, `id`, …) is a 400 naming it, never a silent mass assignment.
 */

const slug = { type: 'string', minLength: 1, maxLength: SLUG_MAX_CHARS, pattern: SLUG_PATTERN } as const
const title = { type: 'string', minLength: 1, maxLength: TITLE_MAX_CHARS } as const
const description = { type: 'string', maxLength: DESCRIPTION_MAX_CHARS } as const
const body = { type: 'string', maxLength: BODY_MAX_CHARS } as const
const position = { type: 'integer', minimum: 1, maximum: MAX_PARTS } as const

export const slugParamsSchema = {
  type: 'object',
  required: ['slug'],
  properties: { slug: { type: 'string', maxLength: 200 } },
} as const
export interface SlugParams {
  slug: string
}

/** `n` is the 1-based number of a lesson or chapter. */
export const partParamsSchema = {
  type: 'object',
  required: ['slug', 'n'],
  properties: { slug: { type: 'string', maxLength: 200 }, n: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
} as const
export interface PartParams {
  slug: string
  n: number
}

export const createWorkBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title'],
  properties: { slug, title, description, published: { type: 'boolean' } },
} as const
export interface CreateWorkBody {
  /** Derived from the title when absent. */
  slug?: string
  title: string
  description?: string
  published?: boolean
}

/** A username as registration allows it (CONTRACT §5). */
const username = { type: 'string', minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' } as const

export const updateWorkBodySchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    slug,
    title,
    description,
    published: { type: 'boolean' },
    // Admins only (CONTRACT §12): the whole list of owners, replacing the current one.
    owners: { type: 'array', maxItems: MAX_OWNERS, items: username },
  },
} as const
export type UpdateWorkBody = Partial<CreateWorkBody> & { owners?: string[] }

export const createPartBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'body'],
  properties: { title, body, position },
} as const
export interface CreatePartBody {
  title: string
  /** Markdown. */
  body: string
  position?: number
}

export const updatePartBodySchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { title, body, position },
} as const
export type UpdatePartBody = Partial<CreatePartBody>

/**
 * preValidation for actions that take no input (enroll, complete): no body or `{}` is fine, any
 * field is unknown (CONTRACT §3). A body schema cannot say this: it would refuse a POST
 * without a body, which is how most clients send an action.
 */
export async function refuseBodyFields(req: FastifyRequest): Promise<void> {
  const body: unknown = req.body
  if (body === undefined || body === null) return
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Request body must be a JSON object')
  const [first] = Object.keys(body)
  if (first !== undefined) throw badRequest(`Unknown field: ${first}`)
}
