import type { FastifyInstance } from 'fastify'
import { presentPart, presentWork } from '../catalog/catalog.presenter.ts'
import { catalogEditingRoutes } from '../catalog/catalog.routes.ts'
import { partParamsSchema, slugParamsSchema, type PartParams, type SlugParams } from '../catalog/catalog.schemas.ts'
import type { MarkdownRenderer } from '../catalog/rendering/markdown.ts'
import { renderOrRefuse } from '../catalog/rendering/render-refusal.ts'
import { presentEbook, presentReadingPosition } from './ebooks.presenter.ts'
import {
  chapterResponseSchema,
  ebookListResponseSchema,
  ebookResponseSchema,
  readingUpdateBodySchema,
  readingUpdateResponseSchema,
  type ReadingUpdateBody,
} from './ebooks.schemas.ts'
import { signedIn } from '../../security/authz.ts'
import type { CatalogService } from '../catalog/catalog.service.ts'
import type { ReadingService } from '../progress/reading.service.ts'

export interface EbooksRoutesOptions {
  ebooks: CatalogService
  reading: ReadingService
  markdown: MarkdownRenderer
}

/**
 * CONTRACT §6, ebooks: the shelf and chapters for everyone (drafts for staff only), the
 * reading position for the signed-in, editing for instructors and admins.
 */
export async function ebooksRoutes(app: FastifyInstance, opts: EbooksRoutesOptions) {
  const { ebooks: catalog, reading } = opts

  app.get(
    '/ebooks',
    { config: { access: 'public' }, schema: { response: { 200: ebookListResponseSchema } } },
    async (req) => ({
      ebooks: (await catalog.list(req.user)).map((work) => presentWork('ebook', work)),
    }),
  )

  app.get<{ Params: SlugParams }>(
    '/ebooks/:slug',
    { config: { access: 'public' }, schema: { params: slugParamsSchema, response: { 200: ebookResponseSchema } } },
    async (req) => {
      const { work, parts } = await catalog.get(req.params.slug, req.user)
      return { ebook: presentEbook(work, parts, await reading.positionIn(req.user, work, parts)) }
    },
  )

  app.get<{ Params: PartParams }>(
    '/ebooks/:slug/chapters/:n',
    { config: { access: 'public' }, schema: { params: partParamsSchema, response: { 200: chapterResponseSchema } } },
    async (req) => {
      const chapter = await catalog.part(req.params.slug, req.params.n, req.user)
      return {
        chapter: presentPart('ebook', chapter, await renderOrRefuse(req, opts.markdown, chapter.part.body_markdown)),
      }
    },
  )

  app.put<{ Params: SlugParams; Body: ReadingUpdateBody }>(
    '/ebooks/:slug/progress',
    {
      config: { access: 'user' },
      schema: {
        params: slugParamsSchema,
        body: readingUpdateBodySchema,
        response: { 200: readingUpdateResponseSchema },
      },
    },
    async (req) => {
      const { applied, position } = await reading.save(req.params.slug, signedIn(req).user, req.body)
      return { reading_position: presentReadingPosition(position), applied }
    },
  )

  await catalogEditingRoutes(app, { catalog, markdown: opts.markdown })
}
