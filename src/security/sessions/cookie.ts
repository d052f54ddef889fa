import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config/index.ts'

export const SESSION_COOKIE_NAME = 'lectern_session'
/**
 * The name whenever the cookie is Secure. The browser accepts a `__Host-` cookie only when it is
 * Secure, has Path=/ and no Domain, so neither a sibling subdomain nor a plain-HTTP attacker can
 * plant or overwrite it (no session fixation through cookie injection).
 */
export const SECURE_SESSION_COOKIE_NAME = `__Host-${SESSION_COOKIE_NAME}`

/** COOKIE_SECURE: `auto` follows the request's scheme (X-Forwarded-Proto only from TRUST_PROXY proxies). */
export function isSecureRequest(req: FastifyRequest, mode: Config['cookieSecure']): boolean {
  if (mode === 'true') return true
  if (mode === 'false') return false
  return req.protocol === 'https'
}

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE_NAME : SESSION_COOKIE_NAME
}

function cookieOptions(secure: boolean, maxAgeSeconds: number) {
  return {
    path: '/', // required by __Host-; no Domain attribute, ever
    httpOnly: true, // scripts (and so XSS) cannot read it
    sameSite: 'lax' as const, // not sent on cross-site POSTs, still sent on top-level navigation
    secure,
    maxAge: maxAgeSeconds,
  }
}

export function setSessionCookie(reply: FastifyReply, secure: boolean, value: string, maxAgeSeconds: number) {
  reply.setCookie(sessionCookieName(secure), value, cookieOptions(secure, Math.max(1, Math.floor(maxAgeSeconds))))
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean) {
  reply.clearCookie(sessionCookieName(secure), cookieOptions(secure, 0))
}
