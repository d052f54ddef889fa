import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

/**
 * The policy: the CSP allows no inline script or style anywhere; pages load their scripts and
 * one stylesheet from our origin.
 */
export const SECURITY_HEADER_POLICY: Readonly<HelmetOptions> = {
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

const HSTS_VALUE = 'max-age=31536000; includeSubDomains'

/**
 * Runs helmet's middleware once against a recording response and returns the headers it sets.
 * Our policy has no per-request part (no nonces), so every response gets the same set; building
 * it per request, as @fastify/helmet does, cost a quarter of a small response's CPU time
 * (docs/benchmarks.md, docs/adr/0013).
 */
export function computeSecurityHeaders(
  policy: Readonly<HelmetOptions> = SECURITY_HEADER_POLICY,
): Record<string, string> {
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

/**
 * Security headers on every response, errors and 404s included: the first hook after the
 * request context, so even a request refused by a later layer carries them.
 */
export const securityHeaders = fp(
  async (app: FastifyInstance) => {
    const headers = computeSecurityHeaders()
    // A callback hook, not an async one: it runs on every request and has nothing to wait for.
    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      reply.headers(headers)
      if (req.protocol === 'https') reply.header('strict-transport-security', HSTS_VALUE)
      done()
    })
  },
  { name: 'security-headers' },
)
