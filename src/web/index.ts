import type { FastifyInstance } from 'fastify'
import { assetRoutes } from './assets.ts'
import { createFormChecks } from './form-validation.ts'
import { accountPages } from './pages/account.routes.ts'
import { adminPages } from './pages/admin.routes.ts'
import { auditPages } from './pages/audit.routes.ts'
import { importUsersPages } from './pages/import-users.routes.ts'
import { contentEditorPages } from './pages/content-editor.routes.ts'
import { cataloguePages } from './pages/catalogue.routes.ts'
import { coursePages } from './pages/courses.routes.ts'
import { ebookPages } from './pages/ebooks.routes.ts'
import { passwordResetPages } from './pages/password-reset.routes.ts'
import { profilePages } from './pages/profile.routes.ts'
import { emailVerificationPages } from './pages/email-verification.routes.ts'
import type { Services } from '../services.ts'
import { presentUser } from '../modules/accounts/user.presenter.ts'
import type { Site } from './site.ts'

export { createSite, type Site } from './site.ts'

export interface WebPagesOptions {
  site: Site
  /** The services the API uses (src/services.ts): the same flows, limits and events behind both. */
  services: Services
  /** MAX_UPLOAD_BYTES. */
  maxUploadBytes: number
  /** SUPPORT_CONTACT: whom a person whose account is disabled is told to contact; null: nobody named. */
  supportContact: string | null
}

/**
 * The pages for people (CONTRACT §6), outside /api: server-rendered HTML whose forms post with a
 * `csrf_token` field and work without JavaScript, over the same services as the JSON API: a page
 * never has logic of its own. Every route declares `html: true` (its errors are pages, not JSON)
 * and its `access`.
 */
export async function webPages(app: FastifyInstance, opts: WebPagesOptions) {
  const { site } = opts
  const pages = site.pages
  const forms = createFormChecks()
  const { accounts, credentials, resets, verification, limits, avatars, markdown, courses, ebooks, reading, admin } =
    opts.services

  pages.describeViewersWith(async (userId) => {
    const user = await accounts.findUser(userId)
    if (!user) return null
    return { name: user.display_name || user.username, avatarUrl: presentUser(user).avatar_url }
  })
  await app.register(assetRoutes, { assets: site.assets })
  await app.register(accountPages, { pages, credentials, forms, supportContact: opts.supportContact })
  await app.register(passwordResetPages, { pages, resets, forms })
  await app.register(emailVerificationPages, { pages, verification })
  await app.register(profilePages, {
    pages,
    accounts,
    credentials,
    verification,
    limits,
    avatars,
    forms,
    maxUploadBytes: opts.maxUploadBytes,
    uploadSlots: opts.services.uploadSlots,
    imageAccepted: () => app.metrics.imageAccepted(),
  })
  await app.register(cataloguePages, { pages, accounts, courses, ebooks, reading })
  await app.register(coursePages, { pages, courses, markdown })
  await app.register(ebookPages, { pages, ebooks, reading, markdown })
  await app.register(adminPages, { pages, admin, accounts, resets, courses: courses.catalog, ebooks })
  await app.register(importUsersPages, { pages, imports: opts.services.imports })
  await app.register(auditPages, { pages, audit: opts.services.audit })
  for (const catalog of [courses.catalog, ebooks])
    await app.register(contentEditorPages, { pages, catalog, forms, markdown })
}
