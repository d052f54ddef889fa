import type { FastifyInstance } from 'fastify'
import { assetRoutes } from './assets.ts'
import { createFormChecks } from './form-validation.ts'
import { accountPages } from './pages/account.routes.ts'
import { adminPages } from './pages/admin.routes.ts'
import { invitationPages } from './pages/invitation.routes.ts'
import { adminInvitationPages } from './pages/admin-invitations.routes.ts'
import { auditPages } from './pages/audit.routes.ts'
import { importUsersPages } from './pages/import-users.routes.ts'
import { contentEditorPages } from './pages/content-editor.routes.ts'
import { cataloguePages } from './pages/catalogue.routes.ts'
import { coursePages } from './pages/courses.routes.ts'
import { certificatePages } from './pages/certificates.routes.ts'
import { ebookPages } from './pages/ebooks.routes.ts'
import { passwordResetPages } from './pages/password-reset.routes.ts'
import { profilePages } from './pages/profile.routes.ts'
import { emailVerificationPages } from './pages/email-verification.routes.ts'
import { learnersPages } from './pages/learners.routes.ts'
import { mediaPages } from './pages/media.routes.ts'
import { ownersPages } from './pages/owners.routes.ts'
import { twoFactorPages, twoFactorSection } from './pages/two-factor.routes.ts'
import type { Services } from '../services.ts'
import { avatarUrl } from '../modules/avatars/avatar-url.ts'
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
    return {
      name: user.display_name || user.username,
      avatarUrl: user.avatar_file === null ? null : avatarUrl(user.id, user.avatar_file),
    }
  })
  await app.register(assetRoutes, { assets: site.assets })
  await app.register(accountPages, {
    pages,
    credentials,
    forms,
    registration: opts.services.registration,
    supportContact: opts.supportContact,
  })
  await app.register(passwordResetPages, { pages, resets, forms })
  await app.register(invitationPages, { pages, credentials, invitations: opts.services.invitations, forms })
  await app.register(emailVerificationPages, { pages, verification })
  await app.register(profilePages, {
    pages,
    accounts,
    credentials,
    verification,
    limits,
    avatars,
    passkeys: opts.services.passkeys,
    forms,
    maxUploadBytes: opts.maxUploadBytes,
    uploadSlots: opts.services.uploadSlots,
    imageAccepted: () => app.metrics.imageAccepted(),
    secondFactors: opts.services.secondFactors,
    twoFactorSection: twoFactorSection(opts.services.twoFactor),
  })
  await app.register(twoFactorPages, { pages, twoFactor: opts.services.twoFactor, accounts, credentials, forms })
  await app.register(cataloguePages, {
    pages,
    accounts,
    courses,
    ebooks,
    reading,
    certificates: opts.services.certificates,
  })
  await app.register(certificatePages, { pages, certificates: opts.services.certificates, accounts })
  await app.register(coursePages, { pages, courses, markdown, quizzes: opts.services.quizzes })
  await app.register(ebookPages, { pages, ebooks, reading, markdown })
  await app.register(adminPages, {
    pages,
    admin,
    accounts,
    resets,
    courses: courses.catalog,
    ebooks,
    readiness: opts.services.doctor,
    invitations: opts.services.invitations,
  })
  await app.register(adminInvitationPages, {
    pages,
    invitations: opts.services.invitations,
    courses: courses.catalog,
    forms,
  })
  await app.register(importUsersPages, { pages, imports: opts.services.imports })
  await app.register(auditPages, { pages, audit: opts.services.audit })
  for (const catalog of [courses.catalog, ebooks]) {
    await app.register(contentEditorPages, { pages, catalog, forms, markdown })
    await app.register(ownersPages, { catalog }) // CONTRACT §12 owners, the /admin form
  }
  // CONTRACT §12: the editor's image upload and a course's learners report
  await app.register(mediaPages, {
    pages,
    media: opts.services.media,
    mayUpload: opts.services.mayUploadMedia,
    maxUploadBytes: opts.maxUploadBytes,
    uploadSlots: opts.services.uploadSlots,
    imageAccepted: () => app.metrics.imageAccepted(),
  })
  await app.register(learnersPages, { pages, report: opts.services.learners, owners: courses.catalog.owners })
}
