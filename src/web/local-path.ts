/** Where signing in leads when no (usable) `next` was given: the learner's dashboard. */
export const DEFAULT_AFTER_SIGN_IN = '/me'

const MAX_NEXT_LENGTH = 2048
const BASE = 'http://lectern.invalid'

/** One slash, then anything but a second slash or a backslash: a path, not `//host` or `/\host`. */
const SAME_ORIGIN_PATH = /^\/(?![/\\])/

/**
 * A path on this site to send the browser to after signing in, or null. Only a relative path
 * that stays on this origin is accepted: `//evil.example`, `/\evil.example`, `https://…`,
 * `javascript:…` and anything with control characters are refused (no open redirect).
 * The path returned is the normalised one, and that is what is judged again: `/.//evil.example`
 * and `/a/..//evil.example` normalise to `//evil.example`, which a browser reads as another host.
 */
export function localPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NEXT_LENGTH) return null
  // Browsers treat a backslash as a slash and drop tabs and newlines: judge the string as they would.
  if (!SAME_ORIGIN_PATH.test(value) || /[\\\u0000-\u001f\u007f]/.test(value)) return null
  let url: URL
  try {
    url = new URL(value, BASE)
  } catch {
    return null
  }
  if (url.origin !== BASE) return null
  const path = `${url.pathname}${url.search}${url.hash}`
  if (!SAME_ORIGIN_PATH.test(path) || new URL(path, BASE).origin !== BASE) return null
  return path
}

/** The path of a same-origin Referer (`https://host/courses/x` → `/courses/x`), or null. */
export function refererPath(referer: string | undefined, ownOrigin: string | null): string | null {
  if (referer === undefined || ownOrigin === null) return null
  try {
    const url = new URL(referer)
    return url.origin === ownOrigin ? localPath(`${url.pathname}${url.search}`) : null
  } catch {
    return null
  }
}
