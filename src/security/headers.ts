import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * The policy for documents (pages, error pages, assets, anything not JSON): the CSP allows no
 * inline script or style anywhere; pages load their scripts and one stylesheet from our origin.
 */
export const DOCUMENT_HEADER_POLICY: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      // blob: lets the profile page preview a chosen picture (URL.createObjectURL) before
      // it is uploaded; such URLs are made by our own script from a local file, never fetched.
      imgSrc: ["'self'", 'data:', 'blob:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  // HSTS only over HTTPS (below): on plain HTTP it is meaningless and can lock out a dev host.
  strictTransportSecurity: false,
}

/**
 * The policy for JSON (the API, health checks, error bodies): data, never a document that loads
 * or runs anything, so the strictest CSP there is, and without the headers that only govern
 * documents (opener isolation, DNS prefetching, the old XSS auditor, IE's download prompt, Flash
 * policy files). The headers that protect data stay: nosniff, frame denial, the referrer policy,
 * same-origin resource policy. This is the OWASP REST Security set.
 */
export const DATA_HEADER_POLICY: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], sandbox: [] },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  strictTransportSecurity: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
}

const HSTS_VALUE = 'max-age=31536000; includeSubDomains'
const NOT_STORED = 'no-store'

/**
 * Runs helmet's middleware once against a recording response and returns the headers it sets.
 * Our policies have no per-request part (no nonces), so each is computed once at start-up;
 * building it per request, as @fastify/helmet does, cost a quarter of a small response's CPU
 * time (docs/benchmarks.md, docs/adr/0013).
 */
export function computeSecurityHeaders(policy: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  let failure: unknown = null
  helmet(policy)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    failure = err ?? null
  })
  if (failure) throw failure
  return Object.freeze(headers) as Record<string, string>
}

/** The two sets, computed once when the module loads. */
export const DOCUMENT_SECURITY_HEADERS = computeSecurityHeaders(DOCUMENT_HEADER_POLICY)
export const DATA_SECURITY_HEADERS = computeSecurityHeaders(DATA_HEADER_POLICY)

const isJson = (contentType: unknown) => typeof contentType === 'string' && contentType.startsWith('application/json')

type HeaderSet = ReadonlyArray<readonly [string, string]>
const kChosen = Symbol('security header set of this reply')

/**
 * Security headers on every response, errors and 404s included, chosen by what the response
 * is: JSON gets the data set, everything else (HTML, images, scripts, no body) the document
 * set. Decided in onSend, when the content type is known, and registered after the layers whose
 * onSend may still change it (the CSRF guard's fail-closed 403); should an error replace the
 * payload, the hook runs again and swaps the set. A header a route set itself (the avatar
 * route's stricter CSP) is kept. Every response is `Cache-Control: no-store` unless its route
 * chose its own caching. Fewer headers on JSON also means less work per response:
 * Node validates every header of every response (docs/benchmarks.md).
 */
export const securityHeaders = fp(
  async (app: FastifyInstance) => {
    const documentHeaders: HeaderSet = Object.entries(DOCUMENT_SECURITY_HEADERS)
    const dataHeaders: HeaderSet = Object.entries(DATA_SECURITY_HEADERS)
    app.decorateReply(kChosen, null)
    // A callback hook, not an async one: it runs on every response and has nothing to wait for.
    app.addHook(
      'onSend',
      (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, value: unknown) => void) => {
        const chosen = (reply as unknown as Record<symbol, HeaderSet | null>)[kChosen]
        const wanted = isJson(reply.getHeader('content-type')) ? dataHeaders : documentHeaders
        if (chosen !== wanted) {
          // A second pass (an error replaced the payload): take back what the first one set.
          if (chosen) for (const [name, value] of chosen) if (reply.getHeader(name) === value) reply.removeHeader(name)
          for (const [name, value] of wanted) if (!reply.hasHeader(name)) reply.header(name, value)
          ;(reply as unknown as Record<symbol, HeaderSet | null>)[kChosen] = wanted
        }
        // Personal unless its route says otherwise: what /api/me, /api/courses (with the caller's
        // progress) or an admin list sent must not stay in a shared or back-button cache. A route
        // whose bytes are the same for everyone sets its own Cache-Control (assets, avatars).
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', NOT_STORED)
        if (req.protocol === 'https') reply.header('strict-transport-security', HSTS_VALUE)
        done(null, payload)
      },
    )
  },
  { name: 'security-headers' },
)
