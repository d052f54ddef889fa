import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import type { Clock } from '../lib/clock.ts'
import type { AccountsService } from '../modules/accounts/accounts.service.ts'
import type { CredentialsService } from '../modules/accounts/credentials.service.ts'
import { createAdminService } from '../modules/admin/admin.service.ts'
import { createAvatarsRepository } from '../modules/avatars/avatars.repository.ts'
import { createAvatarsService } from '../modules/avatars/avatars.service.ts'
import { createCatalogService } from '../modules/catalog/catalog.service.ts'
import type { MarkdownRenderer } from '../modules/catalog/rendering/markdown.ts'
import { createCoursesService } from '../modules/courses/courses.service.ts'
import { createReadingService } from '../modules/progress/reading.service.ts'
import type { ImageProcessor } from '../images/index.ts'
import type { RateLimits } from '../security/rate-limit/service.ts'
import { assetRoutes } from './assets.ts'
import { createFormChecks } from './form-validation.ts'
import { accountPages } from './pages/account.routes.ts'
import { adminPages } from './pages/admin.routes.ts'
import { contentEditorPages } from './pages/content-editor.routes.ts'
import { cataloguePages } from './pages/catalogue.routes.ts'
import { coursePages } from './pages/courses.routes.ts'
import { ebookPages } from './pages/ebooks.routes.ts'
import { profilePages } from './pages/profile.routes.ts'
import type { Site } from './site.ts'

export { createSite, type Site } from './site.ts'

export interface WebPagesOptions {
  site: Site
  db: Kysely<Database>
  clock: Clock
  /** The services the API uses: the same flows, limits and events behind both. */
  accounts: AccountsService
  credentials: CredentialsService
  limits: RateLimits
  /** The app's image processor (one bounded queue for the API's uploads and the profile page's). */
  imageProcessor: ImageProcessor
  /** MAX_UPLOAD_BYTES. */
  maxUploadBytes: number
  /** The app's Markdown renderer, so pages and the API share its cache. */
  markdown: MarkdownRenderer
}

/**
 * The pages for people (CONTRACT §6), outside /api: server-rendered HTML whose forms post with a
 * `csrf_token` field and work without JavaScript, over the same services as the JSON API.
 * Every route declares `html: true` (its errors are pages, not JSON) and its `access`.
 */
export async function webPages(app: FastifyInstance, opts: WebPagesOptions) {
  const { site, db, clock } = opts
  const pages = site.pages
  const forms = createFormChecks()
  const { markdown } = opts

  // The services the API uses, built from the same parts: a page never has logic of its own.
  const { accounts, credentials, limits } = opts
  const avatars = createAvatarsService({
    repository: createAvatarsRepository(db),
    processor: opts.imageProcessor,
    clock,
  })
  const courses = createCoursesService({ db, clock })
  const ebooks = createCatalogService({ db, kind: 'ebook', clock })
  const reading = createReadingService({ db, clock, catalog: ebooks })
  const admin = createAdminService({ db, clock, sessions: app.sessions })

  await app.register(assetRoutes, { assets: site.assets })
  await app.register(accountPages, { pages, accounts, credentials, forms })
  await app.register(profilePages, {
    pages,
    accounts,
    credentials,
    limits,
    avatars,
    forms,
    maxUploadBytes: opts.maxUploadBytes,
    imageAccepted: () => app.metrics.imageAccepted(),
  })
  await app.register(cataloguePages, { pages, accounts, courses, ebooks, reading })
  await app.register(coursePages, { pages, courses, markdown })
  await app.register(ebookPages, { pages, ebooks, reading, markdown })
  await app.register(adminPages, { pages, admin, accounts, courses: courses.catalog, ebooks })
  for (const catalog of [courses.catalog, ebooks])
    await app.register(contentEditorPages, { pages, catalog, forms, markdown })
}
