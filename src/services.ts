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
import { createInvitationsService } from './modules/invitations/invitations.service.ts'
import type { AuditRepository } from './modules/audit/audit.repository.ts'
import { createAuditService } from './modules/audit/audit.service.ts'
import { createAvatarsRepository } from './modules/avatars/avatars.repository.ts'
import { avatarImageLimits, createAvatarsService } from './modules/avatars/avatars.service.ts'
import { createCatalogService } from './modules/catalog/catalog.service.ts'
import { createMarkdownRenderer } from './modules/catalog/rendering/markdown.ts'
import { createCoursesService } from './modules/courses/courses.service.ts'
import { createPasskeysRepository } from './modules/passkeys/passkeys.repository.ts'
import { createPasskeysService } from './modules/passkeys/passkeys.service.ts'
import { createReadingService } from './modules/progress/reading.service.ts'
import { createCertificatesService } from './modules/certificates/certificates.service.ts'
import { createQuizService } from './modules/quizzes/quiz.service.ts'
import { quizBestPercents } from './modules/quizzes/quiz.repository.ts'
import { createMediaRepository } from './modules/media/media.repository.ts'
import { createMediaService } from './modules/media/media.service.ts'
import type { RequestUser } from './http/request-context.ts'
import { createLearnersReport, type QuizBestPercents } from './modules/reports/learners.service.ts'
import { createRecoveryCodeHasher } from './modules/two-factor/recovery-codes.ts'
import { createSecondFactors, secondFactorSources } from './modules/two-factor/second-factors.ts'
import { createSecretBox } from './modules/two-factor/secret-box.ts'
import { createSignInChallenges } from './modules/two-factor/sign-in-challenges.ts'
import { totpIssuer } from './modules/two-factor/totp.ts'
import { createTwoFactorRepository } from './modules/two-factor/two-factor.repository.ts'
import { createTwoFactorService } from './modules/two-factor/two-factor.service.ts'
import { createKeyedHasher } from './security/keyed-hash.ts'
import { createPasswordPolicy, loadCommonPasswords } from './security/password-policy.ts'
import { createPasswordHasher, type PasswordHasher } from './security/passwords.ts'
import { createUploadSlots, DEFAULT_MAX_UPLOADS_IN_FLIGHT } from './http/uploads/upload-slots.ts'
import { createDoctorService } from './operations/doctor/doctor.service.ts'

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
  /** The readiness checks' PING of the shared Redis (REDIS_URL), over the app's client. */
  pingRedis?: () => Promise<void>
  /** Usernames of admins without a second factor; the two-factor module's answer when not given. */
  adminsWithoutSecondFactor?: () => Promise<string[]>
  /** Learners' best quiz scores for the learners report; the quizzes module's repository when not given. */
  quizBestPercents?: QuizBestPercents
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
  const invitations = createInvitationsService({ db, accounts, mailer, site: siteFrom(config.publicUrl), clock })
  const twoFactorRepository = createTwoFactorRepository(db)
  // Every kind of second factor an account can have: each question "does this account have one"
  // (sign-in, USER.two_factor_enabled, REQUIRE_2FA_FOR, admin removal) asks this list.
  const secondFactors = createSecondFactors(secondFactorSources({ db }))
  const challenges = createSignInChallenges({ repository: twoFactorRepository, clock })
  const credentials = createCredentialsService({
    accounts,
    limits: app.rateLimits,
    addresses: createSignInAddressesRepository(db),
    sessions: app.sessions,
    resets,
    verification,
    clock,
    secondFactors,
    challenges,
    addressHash: createKeyedHasher(deps.sessionSecret, 'lectern/sign-in-address/v1'),
    registration: config.registration,
    invitations,
  })
  const twoFactor = createTwoFactorService({
    repository: twoFactorRepository,
    secretBox: createSecretBox(deps.sessionSecret),
    hashRecoveryCode: createRecoveryCodeHasher(deps.sessionSecret),
    challenges,
    accounts,
    credentials,
    limits: app.rateLimits,
    sessions: app.sessions,
    secondFactors,
    clock,
    mailer,
    issuer: totpIssuer(config.publicUrl),
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
  const quizzes = createQuizService({ courses, limits: app.rateLimits })
  const certificates = createCertificatesService({ db, publicUrl: config.publicUrl })
  const ebooks = createCatalogService({ db, kind: 'ebook', clock })
  const reading = createReadingService({ db, clock, catalog: ebooks })
  // Lesson images go through the avatars' processor and queue (CONTRACT §12).
  const media = createMediaService({ repository: createMediaRepository(db), processor: imageProcessor, clock })
  /** Admins, and instructors who own a course or an ebook, may upload lesson media. */
  const mayUploadMedia = async (user: RequestUser): Promise<boolean> => {
    if (user.role === 'admin') return true
    if (user.role !== 'instructor') return false
    for (const owners of [courses.catalog.owners, ebooks.owners])
      if ((await owners.ownedBy(user.id)).size > 0) return true
    return false
  }
  const learners = createLearnersReport({
    db,
    courses: courses.catalog,
    quizBestPercents: deps.quizBestPercents ?? quizBestPercents(db),
  })
  const admin = createAdminService({ db, clock, sessions: app.sessions })
  const audit = createAuditService({ repository: deps.auditRepository })
  const passkeysRepository = createPasskeysRepository(db)
  const passkeys = createPasskeysService({
    repository: passkeysRepository,
    findUser: (userId) => accounts.findUser(userId),
    clock,
    publicUrl: config.publicUrl,
    emailVerificationRequired: config.requireEmailVerification,
    mailer,
  })

  const doctor = createDoctorService({
    config,
    database: deps.database,
    clock,
    pingRedis: deps.pingRedis,
    adminsWithoutSecondFactor: deps.adminsWithoutSecondFactor,
  })
  return {
    uploadSlots,
    accounts,
    credentials,
    secondFactors,
    twoFactor,
    resets,
    imports,
    verification,
    limits: app.rateLimits,
    avatars,
    markdown,
    courses,
    quizzes,
    certificates,
    ebooks,
    reading,
    media,
    mayUploadMedia,
    learners,
    admin,
    audit,
    mailer,
    passkeys,
    doctor,
    invitations,
    registration: config.registration,
  }
}

export type Services = Awaited<ReturnType<typeof createServices>>
