import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { invalidTextEncoding } from './errors.ts'
import { requestHook } from './hooks.ts'

/**
 * Text that is not well-formed Unicode is refused, never repaired: a lone surrogate (`"\ud800"`
 * in JSON) or bytes that are not UTF-8 (`%ED%A0%80`, `%FF`, or raw in a body) would otherwise be
 * stored as U+FFFD or as the literal escape, and two spellings of "the same" name could
 * coexist. One check per way text comes in: the JSON and form parsers, and the query string.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The bytes as UTF-8, or the 400 when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw invalidTextEncoding()
  }
}

/** In `u` mode a pair is one code point, so only a lone surrogate matches (String#isWellFormed's test). */
const LONE_SURROGATE = /\p{Surrogate}/u

const wellFormed = (text: string) => !LONE_SURROGATE.test(text)

/** Whether every string in a parsed JSON value, keys included, is well-formed Unicode. */
export function textIsWellFormed(value: unknown): boolean {
  if (typeof value === 'string') return wellFormed(value)
  if (value === null || typeof value !== 'object') return true
  if (Array.isArray(value)) return value.every(textIsWellFormed)
  for (const [key, item] of Object.entries(value)) {
    if (!wellFormed(key) || !textIsWellFormed(item)) return false
  }
  return true
}

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g

/**
 * Whether every run of percent escapes in `encoded` spells UTF-8. A `%` not followed by two hex
 * digits is left alone, as the parsers leave it (a literal, not an escape).
 */
export function percentEscapesAreUtf8(encoded: string): boolean {
  if (!encoded.includes('%')) return true
  for (const [run] of encoded.matchAll(PERCENT_RUN)) {
    try {
      decodeURIComponent(run)
    } catch {
      return false
    }
  }
  return true
}

/**
 * An urlencoded form body, parsed only when it is UTF-8 throughout, escapes included. A repeated
 * field becomes an array (which no form schema accepts); the object has no prototype, so a field
 * named `__proto__` is only a field.
 */
export function parseFormBody(body: Uint8Array): Record<string, string | string[]> {
  const text = decodeUtf8(body)
  if (!percentEscapesAreUtf8(text)) throw invalidTextEncoding()
  const fields: Record<string, string | string[]> = Object.create(null)
  for (const [name, value] of new URLSearchParams(text)) {
    const previous = fields[name]
    fields[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]
  }
  return fields
}

function queryOf(req: FastifyRequest): string {
  const start = req.url.indexOf('?')
  return start === -1 ? '' : req.url.slice(start + 1)
}

/**
 * The query string's escapes are checked before validation (the path's own are refused by the
 * router as `Malformed URL`). Only a query holding an escape costs more than one lookup.
 */
export const wellFormedQueryStrings = fp(
  async (app: FastifyInstance) => {
    app.addHook(
      'preValidation',
      requestHook(
        (req) => queryOf(req).includes('%'),
        (req) => {
          if (!percentEscapesAreUtf8(queryOf(req))) throw invalidTextEncoding()
        },
      ),
    )
  },
  { name: 'well-formed-query-strings' },
)
