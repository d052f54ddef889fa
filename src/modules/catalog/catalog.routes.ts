import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  envelope,
  NAMES,
  partListSchema,
  partSchema,
  partSourceSchema,
  presentPart,
  presentPartList,
  presentPartSource,
  presentWork,
  workSchema,
} from './catalog.presenter.ts'
import {
  createPartBodySchema,
  createWorkBodySchema,
  partParamsSchema,
  slugParamsSchema,
  updatePartBodySchema,
  updateWorkBodySchema,
  type CreatePartBody,
  type CreateWorkBody,
  type PartParams,
  type SlugParams,
  type UpdatePartBody,
  type UpdateWorkBody,
} from './catalog.schemas.ts'
import type { CatalogService, Viewer } from './catalog.service.ts'
import { normalizeMarkdown } from './fields.ts'
import type { MarkdownRenderer } from './rendering/markdown.ts'
import { renderOrRefuse } from './rendering/render-refusal.ts'
import { forbidden } from '../../http/errors.ts'
import { requestEvent, securityEvent } from '../../http/request-context.ts'
import { hasAccess } from '../../security/authz.ts'

/**
 * The editing routes courses and ebooks share (CONTRACT §6, "Instructors and admins"): create,
 * change, publish, reorder and delete works and their parts, and read a part's Markdown source.
 * Every one declares `access: 'instructor'` (admins included); those that change an existing work
 * also run its owners' guard (owners.service.ts) before the body is read: an instructor changes
 * only what they own. Naming the owners is for admins only.
 */
export async function catalogEditingRoutes(
  app: FastifyInstance,
  opts: { catalog: CatalogService; markdown: MarkdownRenderer },
) {
  const { catalog, markdown } = opts
  const kind = catalog.kind
  const names = NAMES[kind]
  const staff = { access: 'instructor' } as const
  const ownersOnly = catalog.owners.guard
  const base = `/${names.works}`
  const parts = `${base}/:slug/${names.parts}`

  const workView = async (slug: string, viewer: Viewer) => {
    const { work, parts: list } = await catalog.get(slug, viewer)
    const owners = (await catalog.owners.list(work.id)).map((owner) => owner.username)
    return { [names.work]: { ...presentWork(kind, work), [names.parts]: presentPartList(list), owners } }
  }
  const workResponse = envelope(
    names.work,
    workSchema(kind, { [names.parts]: partListSchema(), owners: { type: 'array', items: { type: 'string' } } }),
  )
  const partResponse = envelope(names.part, partSchema(kind))
  /**
   * A body is rendered before it is stored, so one that cannot be rendered is refused, never kept
   * for every reader to be refused. The render is cached: the response's render costs nothing.
   */
  const refuseUnrenderable = async (req: FastifyRequest, body: string | undefined) => {
    if (body !== undefined) await renderOrRefuse(req, markdown, normalizeMarkdown(body))
  }

  app.post<{ Body: CreateWorkBody }>(
    base,
    { config: staff, schema: { body: createWorkBodySchema, response: { 201: workResponse } } },
    async (req, reply) => {
      const work = await catalog.create(req.body, req.user?.id ?? null)
      return reply.code(201).send(await workView(work.slug, req.user))
    },
  )

  app.patch<{ Params: SlugParams; Body: UpdateWorkBody }>(
    `${base}/:slug`,
    {
      config: staff,
      onRequest: ownersOnly,
      schema: { params: slugParamsSchema, body: updateWorkBodySchema, response: { 200: workResponse } },
    },
    async (req) => {
      const { owners, ...changes } = req.body
      if (owners !== undefined && !hasAccess(req.user, 'admin')) {
        requestEvent(req, 'warning', 'permission_denied', {
          extra: { required: 'admin', role: req.user?.role ?? null, route: req.routeOptions.url, field: 'owners' },
        })
        throw forbidden()
      }
      // The names are checked first: an unknown one is a 400 with nothing changed.
      const ownerIds = owners === undefined ? undefined : await catalog.owners.resolve(owners)
      let slug = req.params.slug
      if (Object.keys(changes).length > 0) slug = (await catalog.update(slug, changes, req.user)).slug
      if (ownerIds !== undefined) {
        const { work } = await catalog.get(slug, req.user)
        const named = await catalog.owners.replace(work, ownerIds)
        securityEvent(req, 'admin_action', {
          action: 'set_owners',
          actor_id: req.user?.id ?? null,
          kind,
          work_id: work.id,
          owners: named.map((owner) => owner.username),
          via: 'api',
        })
      }
      return workView(slug, req.user)
    },
  )

  app.delete<{ Params: SlugParams }>(
    `${base}/:slug`,
    { config: staff, onRequest: ownersOnly, schema: { params: slugParamsSchema } },
    async (req, reply) => {
      await catalog.remove(req.params.slug, req.user)
      return reply.code(204).send()
    },
  )

  app.post<{ Params: SlugParams; Body: CreatePartBody }>(
    parts,
    {
      config: staff,
      onRequest: ownersOnly,
      schema: { params: slugParamsSchema, body: createPartBodySchema, response: { 201: partResponse } },
    },
    async (req, reply) => {
      await refuseUnrenderable(req, req.body.body)
      const numbered = await catalog.addPart(req.params.slug, req.body, req.user)
      const html = await renderOrRefuse(req, markdown, numbered.part.body_markdown)
      return reply.code(201).send({ [names.part]: presentPart(kind, numbered, html) })
    },
  )

  app.patch<{ Params: PartParams; Body: UpdatePartBody }>(
    `${parts}/:n`,
    {
      config: staff,
      onRequest: ownersOnly,
      schema: { params: partParamsSchema, body: updatePartBodySchema, response: { 200: partResponse } },
    },
    async (req) => {
      await refuseUnrenderable(req, req.body.body)
      const numbered = await catalog.updatePart(req.params.slug, req.params.n, req.body, req.user)
      return {
        [names.part]: presentPart(kind, numbered, await renderOrRefuse(req, markdown, numbered.part.body_markdown)),
      }
    },
  )

  app.delete<{ Params: PartParams }>(
    `${parts}/:n`,
    { config: staff, onRequest: ownersOnly, schema: { params: partParamsSchema } },
    async (req, reply) => {
      await catalog.removePart(req.params.slug, req.params.n, req.user)
      return reply.code(204).send()
    },
  )

  app.get<{ Params: PartParams }>(
    `${parts}/:n/source`,
    {
      config: staff,
      schema: { params: partParamsSchema, response: { 200: envelope(names.part, partSourceSchema(kind)) } },
    },
    async (req) => ({
      [names.part]: presentPartSource(kind, await catalog.source(req.params.slug, req.params.n, req.user)),
    }),
  )
}
