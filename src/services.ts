import type { FastifyInstance } from 'fastify'
import type { Config } from './config/index.ts'
import type { DatabaseHandle } from './db/database.ts'
import { createImageProcessor, type ImageProcessor } from './images/index.ts'
import type { Clock } from './lib/clock.ts'
import type { Logger } from './logging/logger.ts'
import { createMailerFromConfig, siteFrom, type Mailer } from './mail/index.ts'
import { createAccountsRepository } from './modules/accounts/accounts.repository.ts'
import { createAccountsService } from './modules/accounts/accounts.service.ts'
import { createCredentialsService } from './modules/accounts/credentials.service.ts'
import { createEmailVerificationService } from './modules/accounts/email-verification.service.ts'
import { createImportUsersService } from './modules/accounts/import-users.service.ts'
import { createPasswordResetService } from './modules/accounts/password-reset.service.ts'
import { createSignInAddressesRepository } from './modules/accounts/sign-in-addresses.repository.ts'
import { createAdminService } from './modules/admin/admin.service.ts'
import type { AuditRepository } from './modules/audit/audit.repository.ts'
import { createAuditService } from './modules/audit/audit.service.ts'
import { createAvatarsRepository } from './modules/avatars/avatars.repository.ts'
import { avatarImageLimits, createAvatarsService } from './modules/avatars/avatars.service.ts'
import { createCatalogService } from './modules/catalog/catalog.service.ts'
import { createMarkdownRenderer } from './modules/catalog/rendering/markdown.ts'
import { createCoursesService } from './modules/courses/courses.service.ts'
import { createReadingService } from './modules/progress/reading.service.ts'
import { createKeyedHasher } from './security/keyed-hash.ts'
import { createPasswordPolicy, loadCommonPasswords } from './security/password-policy.ts'
import { createPasswordHasher, type PasswordHasher } from './security/passwords.ts'
import { createUploadSlots, DEFAULT_MAX_UPLOADS_IN_FLIGHT } from './http/uploads/upload-slots.ts'

export interface ServicesDeps {
  config: Config
  database: DatabaseHandle
  clock: Clock
  logger: Logger
  sessionSecret: string
  passwords?: PasswordHasher
  imageProcessor?: ImageProcessor
  mailer?: Mailer
  /** The audit trail's table (or a test's stand-in), shared with its writer. */
  auditRepository: AuditRepository
}

/**
 * Every service of the application, built once and shared by the JSON API and the pages, so that
 * no flow (signing in, changing a password, enrolling, saving a reading position) exists twice
 * and the bounded resources (the KDF queue, the image queue, the render worker) are one each.
 * Built after the sessions and rate-limit layers, which some services use.
 */
export async function createServices(app: FastifyInstance, deps: ServicesDeps) {
  const { config, clock } = deps
  const db = deps.database.db
  const passwords = deps.passwords ?? createPasswordHasher()
  // The dummy hash exists before the first request, so no unknown-user login pays for making it.
  await passwords.ready()
  const accounts = createAccountsService({
    repository: createAccountsRepository(db),
    passwords,
    policy: createPasswordPolicy({ commonPasswords: loadCommonPasswords() }),
    clock,
  })
  // One mailer, so its bounded queue holds every message the app sends; closing the app waits
  // (bounded) for the messages still queued.
  const mailer = deps.mailer ?? createMailerFromConfig({ config, logger: deps.logger, clock })
  app.addHook('onClose', () => mailer.close())
  const resets = createPasswordResetService({
    db,
    accounts,
    endSessions: (userId) => app.sessions.endAllForUser(userId),
    mailer,
    site: siteFrom(config.publicUrl),
    clock,
    ttlMs: config.passwordResetTtlMs,
  })
  const imports = createImportUsersService({ db, mailer, site: siteFrom(config.publicUrl), clock })
  const verification = createEmailVerificationService({
    db,
    mailer,
    clock,
    required: config.requireEmailVerification,
  })
  const credentials = createCredentialsService({
    accounts,
    limits: app.rateLimits,
    addresses: createSignInAddressesRepository(db),
    sessions: app.sessions,
    resets,
    verification,
    clock,
    addressHash: createKeyedHasher(deps.sessionSecret, 'lectern/sign-in-address/v1'),
  })
  // One processor, so its bounded queue covers the API's uploads and the profile page's together.
  const imageProcessor = deps.imageProcessor ?? createImageProcessor({ limits: avatarImageLimits(config) })
  // One bound on the uploads held in memory at once, for the API and the profile page alike.
  const uploadSlots = createUploadSlots(DEFAULT_MAX_UPLOADS_IN_FLIGHT)
  const avatars = createAvatarsService({ repository: createAvatarsRepository(db), processor: imageProcessor, clock })
  // One renderer, so its cache serves the API and the pages; it renders in a worker under a time
  // budget (docs/adr/0016), whose thread stops with the app.
  const markdown = createMarkdownRenderer()
  app.addHook('onClose', () => markdown.close())
  const courses = createCoursesService({ db, clock })
  const ebooks = createCatalogService({ db, kind: 'ebook', clock })
  const reading = createReadingService({ db, clock, catalog: ebooks })
  const admin = createAdminService({ db, clock, sessions: app.sessions })
  const audit = createAuditService({ repository: deps.auditRepository })
  return {
    uploadSlots,
    accounts,
    credentials,
    resets,
    imports,
    verification,
    limits: app.rateLimits,
    avatars,
    markdown,
    courses,
    ebooks,
    reading,
    admin,
    audit,
    mailer,
  }
}

export type Services = Awaited<ReturnType<typeof createServices>>
