import { readFileSync } from 'node:fs'

/** The origin the open-redirect checks resolve a Location against, as a browser at this site would. */
export const SITE_ORIGIN = 'http://127.0.0.1:3000'

/**
 * The hostile `next` values of test/fixtures/open-redirects.txt, as written in a query string
 * (percent-encoding and all), so the unit and HTTP tests run through the same list.
 */
export function hostileNextValues(): string[] {
  const text = readFileSync(new URL('../fixtures/open-redirects.txt', import.meta.url), 'utf8')
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'))
}

/** `next` as the server reads it from `?next=RAW` (percent-decoded, `+` a space). */
export function decodedNext(raw: string): string {
  return new URLSearchParams(`next=${raw.replaceAll('&', '%26')}`).get('next')!
}

/** Where a browser at SITE_ORIGIN goes for this Location (stripping tabs and newlines as it does). */
export function resolvedOrigin(location: string): string {
  return new URL(location, `${SITE_ORIGIN}/`).origin
}
