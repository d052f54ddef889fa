import type { FastifyRequest } from 'fastify'

/** Sec-Fetch-Site values a browser sends for requests our own pages (or the user, typing) make. */
const ALLOWED_FETCH_SITES = new Set(['same-origin', 'none'])

export type CrossSiteVerdict =
  | { ok: true }
  | { ok: false; check: 'fetch_metadata'; secFetchSite: string }
  | { ok: false; check: 'origin'; origin: string }

/** `${req.protocol}://${req.host}`, normalised (lower case, default port dropped); null if unparsable. */
export function ownOrigin(req: FastifyRequest): string | null {
  try {
    return new URL(`${req.protocol}://${req.host}`).origin
  } catch {
    return null
  }
}

function sameOrigin(origin: string, req: FastifyRequest): boolean {
  const ours = ownOrigin(req)
  if (ours === null || origin === 'null') return false
  try {
    return new URL(origin).origin === ours
  } catch {
    return false
  }
}

/**
 * Defence in depth before any token: refuse what the browser itself says came from another
 * site. Sec-Fetch-Site when present (every current browser), else Origin when present. A request
 * with neither is not from a browser that could be tricked into sending it; the token decides.
 */
export function checkCrossSite(req: FastifyRequest): CrossSiteVerdict {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) {
    const value = String(site).trim().toLowerCase()
    return ALLOWED_FETCH_SITES.has(value) ? { ok: true } : { ok: false, check: 'fetch_metadata', secFetchSite: value }
  }
  const origin = req.headers.origin
  if (origin !== undefined) {
    return sameOrigin(origin, req) ? { ok: true } : { ok: false, check: 'origin', origin }
  }
  return { ok: true }
}

/**
 * Whether the browser says this request came from one of our own pages: `Sec-Fetch-Site:
 * same-origin`, or (from a browser that does not send it) an `Origin` that is ours. A request
 * with neither header proves nothing either way.
 */
export function fromOwnPages(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) return String(site).trim().toLowerCase() === 'same-origin'
  const origin = req.headers.origin
  return origin !== undefined && sameOrigin(origin, req)
}
