import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildTestApp, type TestApp } from '../support/app.ts'

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean }>
  requestBody?: { content: Record<string, { schema: { additionalProperties?: unknown } }> }
  responses: Record<string, { content?: Record<string, { schema: { required?: string[] } }> }>
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> }

/**
 * Every route the app answers, as "METHOD /path", read from Fastify's own route tree (not from
 * the document): an /api route the document leaves out fails the comparison below.
 */
function routesOf(t: TestApp): string[] {
  const tree = t.app.printRoutes({ commonPrefix: false })
  const prefixes: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const node = /^([│ ]*)(?:[├└]── )?(\S+)(?: \(([^)]+)\))?$/.exec(line)
    if (!node) continue
    const depth = node[1]!.length / 4
    const path = (depth === 0 ? '' : prefixes[depth - 1]!) + node[2]!
    prefixes[depth] = path
    for (const method of node[3]?.split(', ') ?? []) routes.push(`${method} ${path}`)
  }
  return routes
}

/** OpenAPI's /courses/{slug} as Fastify's /courses/:slug. */
const fastifyPath = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1')

describe('GET /api/openapi.json (CONTRACT §14)', () => {
  let t: TestApp
  let document: Document
  before(async () => {
    t = await buildTestApp({
      routes: (app) => {
        // Registered after the app's own: the document is generated from what is registered.
        app.post(
          '/api/test-only/:id/things',
          {
            config: { access: 'admin' },
            schema: {
              body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } },
            },
          },
          async () => ({}),
        )
        app.get('/test-only-page', { config: { access: 'public' } }, async () => 'a page')
      },
    })
    const res = await t.app.inject({ method: 'GET', url: '/api/openapi.json' })
    assert.equal(res.statusCode, 200, 'served to anyone, signed out')
    assert.match(String(res.headers['content-type']), /^application\/json/)
    document = res.json()
  })
  after(() => t.close())

  test('is a valid OpenAPI 3.1 document', async () => {
    assert.match(document.openapi, /^3\.1\.\d+$/)
    const result = await new Validator().validate(structuredClone(document))
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
  })

  test('lists every /api route of the app (HEAD aside), and nothing outside /api', () => {
    const fromRouter = routesOf(t)
      .filter((route) => / \/api\//.test(route) && !route.startsWith('HEAD '))
      .sort()
    const documented = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${fastifyPath(path)}`))
      .sort()
    assert.ok(fromRouter.length > 30, `the route tree was read: ${fromRouter.length} routes`)
    assert.ok(fromRouter.includes('POST /api/test-only/:id/things'), 'a route added by the test is in the tree')
    assert.ok(fromRouter.includes('GET /api/openapi.json'))
    assert.deepEqual(documented, fromRouter)
    assert.ok(routesOf(t).includes('GET /test-only-page') && routesOf(t).includes('GET /healthz'))
  })

  test('each operation has its path parameters, its request body and its responses, errors included', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1])
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`
        const pathParams = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path')
        assert.deepEqual(pathParams.map((parameter) => parameter.name).sort(), names.sort(), `${where}: path params`)
        assert.ok(
          pathParams.every((parameter) => parameter.required === true),
          `${where}: path params required`,
        )
        assert.ok(
          Object.keys(operation.responses).some((status) => status.startsWith('2')),
          `${where}: a success`,
        )
        const internal = operation.responses['500']?.content?.['application/json']?.schema
        assert.deepEqual(internal?.required, ['error', 'request_id'], `${where}: the error body`)
      }
    }

    const thing = document.paths['/api/test-only/{id}/things']!.post!
    assert.deepEqual(Object.keys(thing.requestBody!.content), ['application/json'])
    assert.equal(thing.requestBody!.content['application/json']!.schema.additionalProperties, false)
    assert.deepEqual(Object.keys(thing.responses).sort(), ['200', '400', '401', '403', '404', '500'])

    const login = document.paths['/api/login']!.post!
    assert.ok(login.requestBody?.content['application/json'], 'a JSON body')
    assert.ok(login.responses['429'], 'a rate-limited route lists 429')
    assert.equal(login.responses['401'], undefined, 'a public route is not 401')

    const upload = document.paths['/api/upload-avatar']!.post!
    assert.deepEqual(Object.keys(upload.requestBody!.content), ['multipart/form-data'])

    const users = document.paths['/api/admin/users']!.get!
    assert.deepEqual(
      users.parameters!.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name),
      ['q', 'page', 'per_page'],
    )

    const audit = document.paths['/api/admin/audit-events']!.get!
    assert.deepEqual(
      audit.parameters!.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name),
      ['event', 'user_id', 'since', 'until', 'limit', 'before', 'format'],
    )
    assert.deepEqual(Object.keys(audit.responses).sort(), ['200', '400', '401', '403', '500'])
  })
})
