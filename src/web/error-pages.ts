import type { FastifyReply, FastifyRequest } from 'fastify'
import type { HtmlErrorPages } from '../http/error-handler.ts'
import type { HttpError } from '../http/errors.ts'
import { CSRF_FORM_FIELD, CSRF_MESSAGES, fromOwnPages, ownOrigin } from '../security/csrf/index.ts'
import type { Clock } from '../lib/clock.ts'
import { FORM_EXPIRED_MESSAGE } from './forms.ts'
import { rateLimitExplanation } from './rate-limit-explanation.ts'
import { localPath, refererPath } from './local-path.ts'
import { pathOf, type Pages } from './page.ts'

const CSRF_REFUSALS = new Set<string>(Object.values(CSRF_MESSAGES))
/** A replayed form holds at most this many fields (ours hold a handful). */
const MAX_REPLAYED_FIELDS = 20

/** Where signing in should lead back to: the page asked for, or, after a refused POST, the page it came from. */
function returnPath(req: FastifyRequest): string | null {
  if (req.method === 'GET' || req.method === 'HEAD') return localPath(req.url)
  return refererPath(req.headers.referer, ownOrigin(req))
}

/**
 * The fields of a refused urlencoded form, to post again with a fresh token: "the form expired"
 * keeps what was sent. Never the old token, never a password (the person types it again).
 */
function replayableFields(req: FastifyRequest): Array<{ name: string; value: string }> {
  const body = req.body
  if (body === null || typeof body !== 'object') return []
  return Object.entries(body as Record<string, unknown>)
    .filter(([name, value]) => typeof value === 'string' && name !== CSRF_FORM_FIELD && !/password/i.test(name))
    .slice(0, MAX_REPLAYED_FIELDS)
    .map(([name, value]) => ({ name, value: value as string }))
}

function minutesFrom(retryAfterSeconds: string | undefined): number {
  const seconds = Number(retryAfterSeconds)
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds / 60) : 1
}

/**
 * The pages people see when something goes wrong (the HTML branch of the one error handler):
 * - 401 on a page: off to the sign-in page, coming back here afterwards;
 * - a refused CSRF token: the form again, as it was typed, with "The form expired, please try
 *   again" (the route's own form when it declares `redisplayForm`, else the fields re-posted);
 *   without a form when that would start a session for a request from another site;
 * - 429: how many minutes to wait; 403, 404: what happened and where to go; 5xx: an apology
 *   and the request id to quote.
 * The status, the headers the error carries (Retry-After, Allow) and request_complete's `error`
 * are those the JSON answer would have had.
 */
export function createErrorPages(pages: Pages, clock: Clock): HtmlErrorPages {
  return {
    async send(req: FastifyRequest, reply: FastifyReply, error: HttpError) {
      reply.headers(error.headers)
      const status = error.statusCode

      if (status === 401) {
        const next = returnPath(req)
        const location = next ? `/login?next=${encodeURIComponent(next)}` : '/login'
        return reply.header('Cache-Control', 'no-store').redirect(location, 303)
      }

      if (status === 403 && CSRF_REFUSALS.has(error.publicMessage)) {
        // A form shown again needs a fresh token, and so a session. Starting one for a request
        // that came without a session and not from our own pages would let any other site
        // replace a visitor's session cookie with a cross-site post (a forced sign-out): such a
        // refusal is told without a form, and leaves the browser's cookies as they were.
        if (req.session.id === null && !fromOwnPages(req)) {
          const page = { kind: 'form-expired', heading: 'The form expired', message: FORM_EXPIRED_MESSAGE, retry: null }
          return pages.send(req, reply, 'error', page, { title: page.heading, status })
        }
        const redisplay = req.routeOptions.config?.redisplayForm
        if (redisplay) return redisplay(req, reply, { message: FORM_EXPIRED_MESSAGE, status })
        const action = localPath(pathOf(req.url))
        return pages.send(
          req,
          reply,
          'error',
          {
            kind: 'form-expired',
            heading: 'The form expired',
            message: FORM_EXPIRED_MESSAGE,
            retry: action ? { action, fields: replayableFields(req) } : null,
          },
          { title: 'The form expired', status, forms: true },
        )
      }

      if (status === 429) {
        // The sign-in and registration forms are shown again, with what was typed (never the
        // password), which limit stopped them, why, and when to come back.
        const redisplay = req.routeOptions.config?.redisplayForm
        if (redisplay && req.routeOptions.config?.keepFormWhenLimited === true) {
          const message = rateLimitExplanation(req.rateLimitRefusedPolicy, Number(error.headers['Retry-After']), clock)
          return redisplay(req, reply, { message, status })
        }
        const minutes = minutesFrom(error.headers['Retry-After'])
        return pages.send(
          req,
          reply,
          'error',
          {
            kind: 'rate-limited',
            heading: 'Too many attempts',
            message: `Too many attempts, try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`,
          },
          { title: 'Too many attempts', status },
        )
      }

      const page =
        status === 404
          ? {
              kind: 'not-found',
              heading: 'Page not found',
              message: 'There is nothing at this address. It may have moved, or the link may be mistyped.',
            }
          : status === 403
            ? { kind: 'forbidden', heading: 'Not allowed', message: 'Your account does not have access to this page.' }
            : status >= 500
              ? {
                  kind: 'server-error',
                  heading: 'Something went wrong',
                  message: 'Sorry, the server could not complete your request. Please try again in a moment.',
                }
              : { kind: 'client-error', heading: 'That did not work', message: error.publicMessage }
      return pages.send(req, reply, 'error', page, { title: page.heading, status })
    },
  }
}
