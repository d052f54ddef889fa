import type { FastifyInstance } from 'fastify'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { invalidTextEncoding } from './errors.ts'
import { decodeUtf8, textIsWellFormed } from './text-encoding.ts'

// ajv-formats is CommonJS with a default export; under NodeNext its default is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/**
 * Request validation that refuses rather than repairs: bodies are never type-coerced and
 * unknown fields are an error, not silently dropped (Fastify's default strips them).
 * Path and query parameters are strings on the wire, so those may be coerced.
 */
export function installValidation(app: FastifyInstance) {
  const bodyAjv = addFormats(
    new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false }),
  )
  const paramsAjv = addFormats(
    new Ajv({ removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false }),
  )
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : paramsAjv).compile(schema as object),
  )

  // A bodiless POST that still says `Content-Type: application/json` (many HTTP clients always
  // send it) is a request without a body, not malformed JSON: routes that need a body refuse it
  // through their schema. Everything else goes through Fastify's own parser, which refuses
  // __proto__ and constructor poisoning.
  // The bytes must be UTF-8 and every string well-formed (no lone surrogate from a `\ud800`
  // escape): text is refused, not repaired into U+FFFD (http/text-encoding.ts).
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const text = decodeUtf8(body as Buffer) // parseAs: 'buffer' hands over a Buffer
    if (text === '') return done(null, undefined)
    return parseJson(req, text, (error, value) => {
      if (error) return done(error)
      if (!textIsWellFormed(value)) return done(invalidTextEncoding())
      return done(null, value)
    })
  })

  // A JSON body schema that would accept unknown fields is a bug we refuse to start with:
  // it is how mass assignment (`"role": "admin"`) slips in.
  app.addHook('onRoute', (route) => {
    const body = route.schema?.body as { type?: string; additionalProperties?: unknown } | undefined
    if (body && body.type === 'object' && body.additionalProperties !== false) {
      throw new Error(`Route ${String(route.method)} ${route.url}: body schema must set additionalProperties: false`)
    }
  })
}
