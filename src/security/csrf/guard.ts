import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config/index.ts'
import { errorBody, HttpError } from '../../http/errors.ts'
import { appendRouteHook, requestHook, sendHook } from '../../http/hooks.ts'
import { parseFormBody } from '../../http/text-encoding.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import { deriveKey, KEY_LABELS } from '../sessions/keys.ts'
import { checkCrossSite } from './origin.ts'
import { createCsrfTokens, type CsrfTokens } from './token.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `'multipart'`: this route reads a multipart/form-data stream and checks its first field,
     * `csrf_token`, itself (with csrfCheckedParts or verifyCsrfFormToken) before any file part.
     * Without it, a multipart request carrying no header token is refused before its body is read.
     */
    csrf?: 'multipart'
  }
  interface FastifyRequest {
    /** A fresh CSRF token for this request's session (started if there is none): for pages that render forms. */
    csrfToken(): Promise<string>
  }
}

export const CSRF_HEADER = 'x-csrftoken'
export const CSRF_HEADER_ALIAS = 'x-csrf-token'
export const CSRF_FORM_FIELD = 'csrf_token'

export const CSRF_MESSAGES = {
  missing: 'CSRF token missing',
  invalid: 'CSRF token invalid',
  expired: 'CSRF token expired',
} as const

/** GET, HEAD and OPTIONS never change state; every other method, known or not, is checked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** HTML forms are small; a forged one is parsed (at most this much) before its field is checked. */
export const FORM_BODY_LIMIT_BYTES = 64 * 1024

/** `rejected`: a 403 is on its way; nothing more to check or replace. */
type Status = 'verified' | 'awaiting-form' | 'awaiting-multipart' | 'rejected'

interface CsrfRequestState {
  status: Status
  /** The multipart route's handler is about to run (set by a route-level preHandler). */
  handlerReached: boolean
  verify(token: unknown): 'valid' | 'invalid' | 'expired'
}

const kCsrf = Symbol('lectern.csrf')
type WithState = FastifyRequest & { [kCsrf]: CsrfRequestState | null }

function stateOf(req: FastifyRequest): CsrfRequestState | null {
  return (req as WithState)[kCsrf] ?? null
}

function requestHasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function mediaType(req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '')
    .split(';', 1)[0]!
    .trim()
    .toLowerCase()
}

function tokenInQueryString(req: FastifyRequest): boolean {
  const query = req.url.indexOf('?')
  return query !== -1 && new URLSearchParams(req.url.slice(query + 1)).has(CSRF_FORM_FIELD)
}

/**
 * Logs the violation (which check failed, never the token) and builds the 403. When a body is
 * on its way the connection is closed after the answer: nobody waits for, or reads, the rest.
 */
function rejection(req: FastifyRequest, kind: keyof typeof CSRF_MESSAGES, details: Record<string, string>): HttpError {
  const state = stateOf(req)
  if (state) state.status = 'rejected'
  securityEvent(req, 'csrf_violation', { result: kind, ...details })
  return new HttpError(403, CSRF_MESSAGES[kind], requestHasBody(req) ? { Connection: 'close' } : {})
}

function judge(req: FastifyRequest, state: CsrfRequestState, token: unknown, source: string): void {
  const verdict = state.verify(token)
  if (verdict !== 'valid') {
    throw rejection(req, verdict, { check: 'token', source, reason: verdict })
  }
  state.status = 'verified'
}

/**
 * Verifies a token read from a form body (the multipart route's first field). Throws the 403
 * (logged) when it is missing, wrong or old; marks the request verified otherwise.
 */
export function verifyCsrfFormToken(req: FastifyRequest, token: unknown): void {
  const state = stateOf(req)
  if (state === null || state.status === 'verified') return
  if (token === undefined || token === '') {
    throw rejection(req, 'missing', { check: 'token', source: 'multipart', reason: 'missing' })
  }
  judge(req, state, token, 'multipart')
}

/** The shape of a @fastify/multipart part this module needs. */
export interface MultipartPartLike {
  type: 'field' | 'file'
  fieldname: string
  value?: unknown
}

/**
 * The parts of a multipart body, with the CSRF check done first: the first part must be the
 * field `csrf_token` (unless a header token was already verified), and it is consumed here.
 * No file part is yielded, so none is read, before the token is good.
 *
 *   for await (const part of csrfCheckedParts(req, req.parts())) { ... }
 */
export async function* csrfCheckedParts<P extends MultipartPartLike>(
  req: FastifyRequest,
  parts: AsyncIterable<P>,
): AsyncGenerator<P, void, undefined> {
  const iterator = parts[Symbol.asyncIterator]()
  const first = await iterator.next()
  const verified = stateOf(req)?.status === 'verified' || stateOf(req) === null
  if (first.done) {
    if (!verified) throw rejection(req, 'missing', { check: 'token', source: 'multipart', reason: 'missing' })
    return
  }
  const part = first.value
  if (part.type === 'field' && part.fieldname === CSRF_FORM_FIELD) {
    verifyCsrfFormToken(req, part.value)
  } else {
    if (!verified) {
      throw rejection(req, 'missing', { check: 'token', source: 'multipart', reason: 'not_first_part' })
    }
    yield part
  }
  yield* { [Symbol.asyncIterator]: () => iterator }
}

export interface CsrfGuardOptions {
  clock: Clock
  sessionSecret: string
  config: Pick<Config, 'csrfTokenTtlMs'>
}

/**
 * The CSRF guard of CONTRACT §4 (docs/adr/0008), registered once above every route, with no
 * exempt paths. For POST, PUT, PATCH, DELETE and any other unsafe method:
 *   1. Sec-Fetch-Site / Origin: refuse what the browser says came from another site;
 *   2. header token (X-CSRFToken or X-CSRF-Token): checked in onRequest, before the body is read;
 *   3. else an urlencoded form: its `csrf_token` field, once the (small) body is parsed;
 *   4. else a multipart form on a route declared `csrf: 'multipart'`: the route checks the first
 *      field; if it returns without doing so, its answer is replaced by a 403 (fail closed);
 *   5. else 403 `CSRF token missing`. A token in the query string is never read.
 */
export const csrfGuard = fp(
  async (app: FastifyInstance, opts: CsrfGuardOptions) => {
    const tokens: CsrfTokens = createCsrfTokens({
      key: deriveKey(opts.sessionSecret, KEY_LABELS.csrfToken),
      clock: opts.clock,
      ttlMs: opts.config.csrfTokenTtlMs,
    })

    // HTML forms: parsed only when UTF-8 throughout (http/text-encoding.ts), at most 64 KiB.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT_BYTES },
      (_req, body, done) => done(null, parseFormBody(body as Buffer)),
    )

    app.decorateRequest(kCsrf, null)
    app.decorateRequest('csrfToken', async function (this: FastifyRequest) {
      return tokens.issue(await this.session.ensure())
    })

    // Checked in onRequest: a forged request with a 5 MB body must cost one header lookup.
    app.addHook(
      'onRequest',
      requestHook(
        (req) => !SAFE_METHODS.has(req.method),
        (req) => {
          const state: CsrfRequestState = {
            status: 'awaiting-form',
            handlerReached: false,
            verify: (token) => tokens.verify(req.session.id, token),
          }
          ;(req as WithState)[kCsrf] = state

          const crossSite = checkCrossSite(req)
          if (!crossSite.ok) {
            throw rejection(
              req,
              'invalid',
              crossSite.check === 'fetch_metadata'
                ? {
                    check: 'fetch_metadata',
                    reason: 'cross_site_request',
                    sec_fetch_site: crossSite.secFetchSite.slice(0, 32),
                  }
                : { check: 'origin', reason: 'origin_mismatch', origin: crossSite.origin.slice(0, 200) },
            )
          }

          // An empty header (a page script whose token has not loaded) counts as no header.
          const header = req.headers[CSRF_HEADER] || req.headers[CSRF_HEADER_ALIAS] || undefined
          if (header !== undefined) {
            // A repeated header arrives as an array: ambiguous, so invalid.
            return judge(req, state, header, 'header')
          }

          const type = mediaType(req)
          if (type === 'application/x-www-form-urlencoded') {
            state.status = 'awaiting-form'
            return
          }
          if (type === 'multipart/form-data' && req.routeOptions.config?.csrf === 'multipart') {
            state.status = 'awaiting-multipart'
            return
          }
          throw rejection(req, 'missing', {
            check: 'token',
            source: 'none',
            reason: tokenInQueryString(req) ? 'query_string_ignored' : 'missing',
          })
        },
      ),
    )

    // The form field, from the parsed body only (never req.query). It is removed once checked,
    // so route schemas with additionalProperties: false need not know about it.
    app.addHook(
      'preValidation',
      requestHook(
        (req) => stateOf(req)?.status === 'awaiting-form',
        (req) => {
          const state = stateOf(req)!
          const body = req.body as Record<string, unknown> | null | undefined
          const token = body !== null && typeof body === 'object' ? body[CSRF_FORM_FIELD] : undefined
          if (token === undefined || token === '') {
            throw rejection(req, 'missing', {
              check: 'token',
              source: 'form',
              reason: tokenInQueryString(req) ? 'query_string_ignored' : 'missing',
            })
          }
          judge(req, state, token, 'form')
          delete body![CSRF_FORM_FIELD]
        },
      ),
    )

    // Multipart routes: note when the handler is about to run. Route-level hooks run after every
    // app-level one (authorization, rate limits), so a 401 or 429 before the handler stays as it is.
    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.config?.csrf !== 'multipart') return
      const markReached = async (req: FastifyRequest) => {
        const state = stateOf(req)
        if (state) state.handlerReached = true
      }
      appendRouteHook(route, 'preHandler', markReached)
    })

    // Fail closed: a multipart handler that returned without verifying the token does not get its
    // answer out. (Use csrfCheckedParts and this never fires.)
    app.addHook(
      'onSend',
      sendHook(
        (req) => {
          const state = stateOf(req)
          return state?.status === 'awaiting-multipart' && state.handlerReached
        },
        (req, reply, payload) => {
          const error = rejection(req, 'missing', {
            check: 'token',
            source: 'multipart',
            reason: 'not_verified_by_route',
          })
          if (payload !== null && typeof payload === 'object' && 'destroy' in payload) {
            ;(payload as { destroy(): void }).destroy()
          }
          req.ctx.error = { type: error.name, message: error.publicMessage }
          reply.code(403).header('content-type', 'application/json; charset=utf-8').header('Connection', 'close')
          return JSON.stringify(errorBody(error.publicMessage, req.id))
        },
      ),
    )

    app.get('/csrf-token', { config: { access: 'public' } }, async (req, reply) => {
      reply.header('Cache-Control', 'no-store')
      return { csrf_token: await req.csrfToken() }
    })
  },
  { name: 'csrf-guard', dependencies: ['sessions'] },
)
