import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from './config/index.ts'
import type { DatabaseHandle } from './db/database.ts'
import { bodyDeadline } from './http/body-deadline.ts'
import { installErrorHandler } from './http/error-handler.ts'
import { healthRoutes, type ReadinessCheck } from './http/health.ts'
import { malformedRequests } from './http/malformed-requests.ts'
import { installNotFoundHandler } from './http/not-found.ts'
import { openApi } from './http/openapi.ts'
import { generateRequestId, observeAll, requestContext, unroutableRequests } from './http/request-context.ts'
import { wellFormedQueryStrings } from './http/text-encoding.ts'
import { installValidation } from './http/validation.ts'
import type { Clock } from './lib/clock.ts'
import type { Logger } from './logging/logger.ts'
import type { Mailer } from './mail/index.ts'
import { accountsRoutes } from './modules/accounts/accounts.routes.ts'
import { emailVerificationRoutes } from './modules/accounts/email-verification.routes.ts'
import { passwordResetRoutes } from './modules/accounts/password-reset.routes.ts'
import { adminRoutes } from './modules/admin/admin.routes.ts'
import { invitationsRoutes } from './modules/invitations/invitations.routes.ts'
import { secondFactorRequirement } from './modules/two-factor/second-factor-requirement.ts'
import { twoFactorAdminRoutes } from './modules/two-factor/two-factor-admin.routes.ts'
import { twoFactorRoutes } from './modules/two-factor/two-factor.routes.ts'
import { createAuditRetention, type AuditRetention } from './modules/audit/audit-retention.ts'
import {
  auditObserver,
  createAuditWriter,
  type AuditWriter,
  type AuditWriterDeps,
} from './modules/audit/audit-writer.ts'
import { createAuditRepository, type AuditRepository } from './modules/audit/audit.repository.ts'
import { auditRoutes } from './modules/audit/audit.routes.ts'
import { learnerProgressRoutes } from './modules/progress/learner-progress.routes.ts'
import { coursesRoutes } from './modules/courses/courses.routes.ts'
import { certificatesRoutes } from './modules/certificates/certificates.routes.ts'
import { quizRoutes } from './modules/quizzes/quiz.routes.ts'
import { ebooksRoutes } from './modules/ebooks/ebooks.routes.ts'
import { avatarsRoutes } from './modules/avatars/avatars.routes.ts'
import { passkeysRoutes } from './modules/passkeys/passkeys.routes.ts'
import { mediaRoutes } from './modules/media/media.routes.ts'
import { learnersReportRoutes } from './modules/reports/learners.routes.ts'
import type { QuizBestPercents } from './modules/reports/learners.service.ts'
import { type ImageProcessor } from './images/index.ts'
import { doctorRoutes } from './operations/doctor/doctor.routes.ts'
import { authorization } from './security/authz.ts'
import { csrfGuard } from './security/csrf/index.ts'
import { createMetrics, metricsRoutes, type Metrics } from './observability/metrics.ts'
import { DATA_SECURITY_HEADERS, securityHeaders } from './security/headers.ts'
import { rateLimitAdminRoutes } from './security/rate-limit/admin-routes.ts'
import { rateLimits } from './security/rate-limit/plugin.ts'
import { pingRedis } from './security/rate-limit/redis-client.ts'
import { type PasswordHasher } from './security/passwords.ts'
import { sessions } from './security/sessions/index.ts'
import { createServices } from './services.ts'
import { createSite, webPages } from './web/index.ts'

export interface AppDeps {
  config: Config
  database: DatabaseHandle
  logger: Logger
  clock: Clock
  /** SESSION_SECRET, or the one kept in DATA_DIR (config/secret.ts). */
  sessionSecret: string
  /** argon2id password hashing; production parameters when not given (tests inject cheap ones). */
  passwords?: PasswordHasher
  /** Prometheus metrics; a fresh registry per app when not given. */
  metrics?: Metrics
  /** Shared rate-limit counters (REDIS_URL); the caller creates and closes it (src/main.ts). */
  redis?: Redis
  /** Avatar validation and re-encoding; built from the configured limits when not given. */
  imageProcessor?: ImageProcessor
  /** Outgoing email; built from SMTP_URL (or the outbox) when not given. The app closes it. */
  mailer?: Mailer
  /** How long a request has to arrive, headers and body (30 s when not given; tests shorten it). */
  requestTimeoutMs?: number
  /**
   * The audit trail: where it is written and read (the database's audit_events table when not
   * given) and the writer's bounds (tests put a failing or stalled database behind it).
   */
  audit?: { repository?: AuditRepository } & Partial<Pick<AuditWriterDeps, 'maxPendingRows' | 'closeTimeoutMs'>>
  /**
   * The readiness checks' "admins without a second factor" (CONTRACT §16); the two-factor
   * module's answer (TOTP or a passkey) when not given.
   */
  adminsWithoutSecondFactor?: () => Promise<string[]>
  /**
   * Learners' best quiz scores by user, for a course's learners report (CONTRACT §12); from
   * the quizzes module's repository when not given (tests replace it).
   */
  quizBestPercents?: QuizBestPercents
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
    /** The audit trail's writer and its pruning (modules/audit); tests flush and prune through it. */
    audit: { writer: AuditWriter; retention: AuditRetention }
  }
}

const JSON_BODY_LIMIT_BYTES = 1024 * 1024
const MAX_PATH_PARAM_CHARS = 500
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/**
 * Node's own request timeout runs this much behind the app's body deadline (http/body-deadline.ts),
 * so a slow body is answered by the app and never dropped by Node first. Node checks only every
 * 30 s anyway, so slow headers are answered no later for it.
 */
const NODE_TIMEOUT_BEHIND_MS = 1000

/**
 * The whole application, built from its dependencies. The server (main.ts) and the tests
 * (which inject requests in-process) both build it here, so both run the same stack.
 * Layers are registered in lifecycle order: read this file first.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database } = deps
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const metrics = deps.metrics ?? createMetrics()
  const app = Fastify({
    logger: false, // our own JSON lines (logging/), not Fastify's
    genReqId: generateRequestId,
    requestIdHeader: false, // a client-chosen request id is never trusted
    // A hop count is valid at runtime (Fastify's proxy-addr handling); its types omit numbers.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    requestTimeout: requestTimeoutMs + NODE_TIMEOUT_BEHIND_MS,
    return503OnClosing: true,
    // A path parameter may be this long (an admin's rate-limit key can hold a whole username,
    // up to 200 characters); longer is a 414 (http/request-context.ts). The router's default is 100.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
    // A path Fastify cannot decode is refused before routing, where no hook runs: it gets the
    // request id, error body, security headers and log lines of every other response here.
    frameworkErrors: unroutableRequests({
      logger: deps.logger,
      clock: deps.clock,
      observer: metrics.observer,
      headers: DATA_SECURITY_HEADERS,
    }),
    // Bytes that never become a request (a broken request line, oversized headers, a timeout)
    // are answered and logged the same way, in the contract's words (http/malformed-requests.ts).
    clientErrorHandler: malformedRequests({ logger: deps.logger, clock: deps.clock, headers: DATA_SECURITY_HEADERS }),
  })

  // Pages for people (src/web): templates and bundled assets, built first because the one error
  // handler renders errors of pages (and browsers' 404s) as HTML with them.
  const site = await createSite({
    csrfTtlMs: config.csrfTokenTtlMs,
    registration: config.registration,
    clock: deps.clock,
  })

  installValidation(app)
  installNotFoundHandler(app)
  installErrorHandler(app, { htmlPages: site.errorPages })

  const readinessChecks: ReadinessCheck[] = [{ name: 'database', check: () => database.ping() }]
  const { redis } = deps
  if (redis) readinessChecks.push({ name: 'redis', check: () => pingRedis(redis) })

  app.decorate('metrics', metrics)
  metrics.watchReadiness(readinessChecks)

  // The audit trail keeps every security event in the database: the writer sees each one as it is
  // logged and writes them in batches off the request path; closing the app writes what is left.
  const { repository: auditRepository = createAuditRepository(database.db), ...auditBounds } = deps.audit ?? {}
  const audit = {
    writer: createAuditWriter({ repository: auditRepository, clock: deps.clock, logger: deps.logger, ...auditBounds }),
    retention: createAuditRetention({
      repository: auditRepository,
      clock: deps.clock,
      logger: deps.logger,
      retentionDays: config.auditRetentionDays,
    }),
  }
  app.decorate('audit', audit)
  app.addHook('onReady', async () => {
    audit.writer.start()
    audit.retention.start()
  })
  app.addHook('onClose', async () => {
    await audit.retention.stop()
    await audit.writer.close()
  })

  await app.register(requestContext, {
    logger: deps.logger,
    clock: deps.clock,
    observer: observeAll(metrics.observer, auditObserver(audit.writer)),
  }) // request id + request lines first
  // a body still arriving when the request timeout passes gets a 408 (logged), not a silent drop
  await app.register(bodyDeadline, { requestTimeoutMs })
  // resolves req.session and req.user from the cookie, so every later layer and log line knows the user
  await app.register(sessions, { db: database.db, clock: deps.clock, config })
  // onRequest: a header token is checked before any body is read; serves GET /csrf-token
  await app.register(csrfGuard, { clock: deps.clock, sessionSecret: deps.sessionSecret, config })
  // onRequest: the route's declared `access`, before the limits and before any body is read (a
  // form's csrf_token field is checked after this, so no form is redisplayed to a stranger)
  await app.register(authorization)
  // onRequest: REQUIRE_2FA_FOR, right after the role check and before the limits and any body: an
  // account of a covered role without a second factor reaches only the routes that set one up
  await app.register(secondFactorRequirement, {
    requiredFor: config.require2faFor,
    secondFactors: () => services.secondFactors,
  })
  // onRequest: the policy a route declares, before the body is read (memory, or Redis when given)
  await app.register(rateLimits, {
    config,
    clock: deps.clock,
    logger: deps.logger,
    database,
    sessionSecret: deps.sessionSecret,
    redis,
    storeObserver: metrics.rateLimitStore, // lectern_rate_limit_redis_fallback
  })
  // onSend: every response's security headers, by content type; after the CSRF guard's onSend,
  // which can still turn a response into a JSON 403
  await app.register(securityHeaders)
  await app.register(wellFormedQueryStrings) // preValidation: a query string's escapes must spell UTF-8
  // onRoute: collects every route registered after it; GET /api/openapi.json, built once when ready
  await app.register(openApi)
  await app.register(healthRoutes, { checks: readinessChecks })
  await app.register(metricsRoutes, { metrics, token: config.metricsToken })
  // [services] built once, shared by the API and the pages: no flow is written twice
  const services = await createServices(app, {
    config,
    database,
    clock: deps.clock,
    logger: deps.logger,
    sessionSecret: deps.sessionSecret,
    passwords: deps.passwords,
    imageProcessor: deps.imageProcessor,
    mailer: deps.mailer,
    auditRepository,
    ...(redis ? { pingRedis: () => pingRedis(redis) } : {}),
    adminsWithoutSecondFactor: deps.adminsWithoutSecondFactor,
    quizBestPercents: deps.quizBestPercents,
  })
  const { accounts, credentials, resets, verification, avatars, markdown, courses, ebooks, reading, admin } = services
  // [routes] one plugin per module, under /api
  await app.register(accountsRoutes, {
    prefix: '/api',
    accounts,
    credentials,
    verification,
    limits: app.rateLimits,
    secondFactors: services.secondFactors,
  })
  await app.register(twoFactorRoutes, { prefix: '/api', twoFactor: services.twoFactor, credentials }) // CONTRACT §11
  await app.register(passwordResetRoutes, { prefix: '/api', resets }) // CONTRACT §10 password recovery
  await app.register(emailVerificationRoutes, { prefix: '/api', accounts, verification }) // CONTRACT §10 verification
  await app.register(passkeysRoutes, { prefix: '/api', passkeys: services.passkeys, accounts, limits: app.rateLimits }) // CONTRACT §11 passkeys
  await app.register(avatarsRoutes, {
    avatars,
    uploadSlots: services.uploadSlots,
    maxUploadBytes: config.maxUploadBytes,
  }) // POST /api/upload-avatar and GET /avatars/…
  await app.register(mediaRoutes, {
    media: services.media,
    mayUpload: services.mayUploadMedia,
    uploadSlots: services.uploadSlots,
    maxUploadBytes: config.maxUploadBytes,
  }) // CONTRACT §12: POST /api/media and GET /media/…
  await app.register(rateLimitAdminRoutes)
  await app.register(coursesRoutes, { prefix: '/api', courses, markdown, quizzes: services.quizzes }) // CONTRACT §6
  await app.register(quizRoutes, { prefix: '/api', quizzes: services.quizzes }) // CONTRACT §12 quizzes
  await app.register(certificatesRoutes, { prefix: '/api', certificates: services.certificates }) // CONTRACT §12
  await app.register(ebooksRoutes, { prefix: '/api', ebooks, reading, markdown })
  await app.register(learnerProgressRoutes, { prefix: '/api', courses, reading })
  await app.register(learnersReportRoutes, {
    prefix: '/api',
    report: services.learners,
    owners: courses.catalog.owners,
  }) // CONTRACT §12 reports
  await app.register(adminRoutes, { prefix: '/api/admin', admin, resets, secondFactors: services.secondFactors }) // CONTRACT §5 admin
  await app.register(auditRoutes, { prefix: '/api/admin', audit: services.audit }) // CONTRACT §13 audit trail
  await app.register(doctorRoutes, { prefix: '/api/admin', doctor: services.doctor }) // CONTRACT §16 readiness
  await app.register(invitationsRoutes, { prefix: '/api', invitations: services.invitations }) // CONTRACT §15
  await app.register(twoFactorAdminRoutes, { prefix: '/api/admin', twoFactor: services.twoFactor, accounts }) // §11
  // [pages] server-rendered HTML for people, outside /api, over the same services
  await app.register(webPages, {
    site,
    services,
    maxUploadBytes: config.maxUploadBytes,
    supportContact: config.supportContact,
  })

  return app
}
