import { readFileSync } from 'node:fs'
import swagger from '@fastify/swagger'
import type { FastifyInstance, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'

export const OPENAPI_PATH = '/api/openapi.json'
const API_PREFIX = '/api/'

/** A request body the route reads itself (a multipart upload), described for the document only. */
export interface DocumentedBody {
  contentType: string
  schema: Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set where no body schema can be (Fastify would validate it): the document's requestBody. */
    documentedBody?: DocumentedBody
  }
}

/** CONTRACT §3: every error body. */
const ERROR_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['error', 'request_id'],
  properties: {
    error: { type: 'string', description: 'what went wrong, for people' },
    request_id: { type: 'string', description: 'the id the request was logged under (X-Request-ID)' },
  },
} as const

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

type RouteSchema = NonNullable<RouteOptions['schema']> & { response?: Record<string, unknown> }

/** @fastify/swagger's key for a response's description, kept out of the schema it describes. */
const RESPONSE_DESCRIPTION = 'x-response-description'

function errorResponse(description: string) {
  return { [RESPONSE_DESCRIPTION]: description, ...ERROR_BODY_SCHEMA }
}

/** A route without a success schema still answers one: listed, its body undescribed. */
const UNDESCRIBED_SUCCESS = { 200: { [RESPONSE_DESCRIPTION]: 'Success' } }

function hasSuccessResponse(response: Record<string, unknown> | undefined): boolean {
  return Object.keys(response ?? {}).some((status) => status.startsWith('2') || status === 'default')
}

/**
 * The error statuses a route can answer, from what it declares: the same layers (app.ts) answer
 * every route, so the route's access, rate-limit policy, method and parameters say which apply.
 */
export function errorResponsesOf(route: Pick<RouteOptions, 'method' | 'url' | 'config' | 'schema'>) {
  const methods = [route.method].flat()
  const changesState = methods.some((method) => STATE_CHANGING.has(method))
  const access = route.config?.access ?? 'public'
  const responses: Record<string, unknown> = {}
  if (changesState || route.schema?.querystring || route.schema?.params || route.url.includes(':')) {
    responses[400] = errorResponse('Invalid request: malformed JSON, a field that fails its schema or is unknown')
  }
  if (access !== 'public') responses[401] = errorResponse('Authentication required')
  if (access === 'instructor' || access === 'admin' || changesState) {
    responses[403] = errorResponse('Forbidden: a missing or invalid CSRF token, or a role without access')
  }
  if (route.url.includes(':')) responses[404] = errorResponse('Not found')
  if (route.config?.rateLimit !== undefined) {
    responses[429] = errorResponse('Rate limit exceeded (Retry-After says when to try again)')
  }
  responses[500] = errorResponse('Internal server error')
  return responses
}

/**
 * The document's view of a route: only /api routes (pages and operations endpoints are not the
 * API), with their error responses and a body the route documents but reads itself.
 * Route schemas are copied, never changed: Fastify validates and serialises with them.
 */
function describeRoute({ schema, url, route }: { schema: RouteSchema; url: string; route: RouteOptions }) {
  if (!url.startsWith(API_PREFIX)) return { schema: { ...schema, hide: true }, url }
  const success = hasSuccessResponse(schema?.response) ? {} : UNDESCRIBED_SUCCESS
  const response = { ...success, ...errorResponsesOf(route), ...schema?.response }
  const documented = route.config?.documentedBody
  const body = documented ? { body: documented.schema, consumes: [documented.contentType] } : {}
  return { schema: { ...schema, response, ...body }, url }
}

function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

/**
 * `GET /api/openapi.json` (CONTRACT §14): an OpenAPI 3.1 document of every /api route, generated
 * from the route schemas. @fastify/swagger only collects routes (onRoute) and the document is
 * built once when the app is ready, so nothing runs per request but sending it; a schema it
 * cannot describe stops start-up instead of failing the first reader. Register before the routes.
 */
export const openApi = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Lectern',
          version: packageVersion(),
          description: 'A self-hosted learning platform: courses, ebooks and learners’ progress.',
        },
      },
      transform: describeRoute as never,
    })

    let document: unknown
    app.addHook('onReady', async () => {
      document = app.swagger()
    })
    app.get(OPENAPI_PATH, { config: { access: 'public' } }, async () => document)
  },
  { name: 'openapi' },
)
