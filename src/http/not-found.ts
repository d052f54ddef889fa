import type { FastifyInstance, HTTPMethods } from 'fastify'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import { methodNotAllowed, notFound } from './errors.ts'

/**
 * 404 for paths nobody serves, 405 with `Allow` for paths served under other methods, and
 * 204 with `Allow` for OPTIONS. Fastify alone answers 404 in all three cases.
 */
export function installNotFoundHandler(app: FastifyInstance) {
  const known = FindMyWay({ ignoreTrailingSlash: false })
  const methods = new Set<string>()
  app.addHook('onRoute', (route) => {
    const routeMethods = ([] as HTTPMethods[]).concat(route.method)
    for (const method of routeMethods) {
      methods.add(method.toUpperCase())
      try {
        known.on(method.toUpperCase() as HTTPMethod, route.url, () => {})
      } catch {
        // Already known under this method (HEAD routes Fastify adds for GET).
      }
    }
  })
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/'
    const allow = [...methods].filter((method) => known.find(method.toUpperCase() as HTTPMethod, path) !== null).sort()
    if (allow.length === 0) throw notFound()
    if (req.method === 'OPTIONS')
      return reply
        .code(204)
        .header('Allow', [...allow, 'OPTIONS'].join(', '))
        .send()
    throw methodNotAllowed(allow)
  })
}
