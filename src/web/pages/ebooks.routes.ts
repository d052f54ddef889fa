import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  partParamsSchema,
  slugParamsSchema,
  type PartParams,
  type SlugParams,
} from '../../modules/catalog/catalog.schemas.ts'
import type { CatalogService } from '../../modules/catalog/catalog.service.ts'
import type { MarkdownRenderer } from '../../modules/catalog/rendering/markdown.ts'
import { renderOrRefuse } from '../../modules/catalog/rendering/render-refusal.ts'
import type { ReadingService } from '../../modules/progress/reading.service.ts'
import type { Pages } from '../page.ts'

export interface EbookPagesOptions {
  pages: Pages
  ebooks: CatalogService
  reading: ReadingService
  markdown: MarkdownRenderer
}

/**
 * The ebook reader. `/ebooks/:slug` opens at the reader's saved place (the chapter, and how far
 * into it: the page script scrolls there and saves the place as one reads, src/web/client/
 * reader.ts); `/ebooks/:slug/chapters/:n` opens a chapter, at the saved place when it is that one.
 */
export async function ebookPages(app: FastifyInstance, opts: EbookPagesOptions) {
  const { pages, ebooks, reading, markdown } = opts

  async function reader(req: FastifyRequest, reply: FastifyReply, slug: string, requested: number | null) {
    const { work, parts } = await ebooks.get(slug, req.user)
    const saved = await reading.positionIn(req.user, work, parts)
    const n = requested ?? saved?.chapter ?? 1
    // An ebook without chapters has nothing to read yet: the reader says so.
    const chapter = parts.length === 0 ? null : await ebooks.part(slug, n, req.user)
    const base = `/ebooks/${encodeURIComponent(work.slug)}`
    return pages.send(
      req,
      reply,
      'reader',
      {
        ebook: work,
        chapters: parts.map((part, index) => ({ n: index + 1, title: part.title })),
        chapter: chapter && {
          n,
          title: chapter.part.title,
          // Sanitized by the Markdown renderer (modules/catalog/rendering/markdown.ts): the one raw HTML a page shows.
          sanitizedHtml: await renderOrRefuse(req, markdown, chapter.part.body_markdown),
        },
        // Where to put the reader in this chapter: the saved place when it is in this chapter.
        position: saved && saved.chapter === n ? saved.position : 0,
        saved,
        progressUrl: `/api${base}/progress`,
        base,
      },
      { title: chapter ? `${chapter.part.title} · ${work.title}` : work.title },
    )
  }

  app.get<{ Params: SlugParams }>(
    '/ebooks/:slug',
    { config: { access: 'public', html: true }, schema: { params: slugParamsSchema } },
    async (req, reply) => reader(req, reply, req.params.slug, null),
  )

  app.get<{ Params: PartParams }>(
    '/ebooks/:slug/chapters/:n',
    { config: { access: 'public', html: true }, schema: { params: partParamsSchema } },
    async (req, reply) => reader(req, reply, req.params.slug, req.params.n),
  )
}
