import { timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from '@prometheus-io/client'
import { notFound, unauthorized } from '../http/errors.ts'
import { runReadinessChecks, type ReadinessCheck, type ReadinessState } from '../http/health.ts'
import type { RequestObserver } from '../http/request-context.ts'
import { SECURITY_EVENTS, type SecurityEventName } from '../logging/events.ts'
import type { RateLimitStoreObserver } from '../security/rate-limit/service.ts'

const SECURITY_EVENT_NAMES = new Set<string>(SECURITY_EVENTS)
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export type ImageOutcome = 'accepted' | 'unsupported_format' | 'dimensions' | 'invalid' | 'too_large'

/**
 * Prometheus metrics for one app instance, in a registry of its own (no global state, so tests
 * and several apps in one process never mix counts). Request metrics are labelled by the route
 * pattern, never the raw path, so label cardinality stays bounded whatever clients send.
 */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'lectern_' })

  // Its `_count` series is the request count by method, route and status: a separate counter
  // would repeat it, at the cost of a second label lookup on every request (docs/deployment.md).
  const latency = new Histogram({
    name: 'lectern_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  })
  const securityEvents = new Counter({
    name: 'lectern_security_events_total',
    help: 'Security events by name',
    labelNames: ['event'] as const,
    registers: [registry],
  })
  const rateLimited = new Counter({
    name: 'lectern_rate_limit_rejections_total',
    help: 'Requests refused by a rate-limit policy',
    labelNames: ['policy'] as const,
    registers: [registry],
  })
  const images = new Counter({
    name: 'lectern_image_validations_total',
    help: 'Uploaded images by validation outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })

  // Set by the rate limiter as it switches (security/rate-limit/service.ts): a Redis outage shorter
  // than a scrape interval still shows in the counter.
  const redisFallback = new Gauge({
    name: 'lectern_rate_limit_redis_fallback',
    help: '1 while this instance counts rate limits in its own memory because Redis failed, else 0',
    registers: [registry],
  })
  const redisFallbacks = new Counter({
    name: 'lectern_rate_limit_redis_fallbacks_total',
    help: 'Times this instance fell back from Redis to in-memory rate limits',
    registers: [registry],
  })

  // Readiness is asked when Prometheus scrapes, with the checks of GET /readyz: an instance that a
  // load balancer has taken out of its pool says so in its own metrics, and alerts can see why.
  let readinessChecks: readonly ReadinessCheck[] = []
  let probing: Promise<Array<[string, ReadinessState]>> | null = null
  // Both gauges are collected in one scrape: they share one run of the checks.
  const probe = () =>
    (probing ??= runReadinessChecks(readinessChecks).finally(() => {
      probing = null
    }))
  const ready = new Gauge({
    name: 'lectern_ready',
    help: '1 when every readiness check of GET /readyz passed at this scrape, else 0',
    registers: [registry],
    async collect() {
      const results = await probe()
      this.set(results.every(([, state]) => state === 'ok') ? 1 : 0)
    },
  })
  const readinessCheck = new Gauge({
    name: 'lectern_readiness_check',
    help: '1 when this readiness check (database, redis) passed at this scrape, else 0',
    labelNames: ['check'] as const,
    registers: [registry],
    async collect() {
      for (const [check, state] of await probe()) this.set({ check }, state === 'ok' ? 1 : 0)
    },
  })

  const routeOf = (req: FastifyRequest) => req.routeOptions.url ?? 'unmatched'

  const observer: RequestObserver = {
    event(req, event, fields) {
      if (event === 'request_complete' && fields.status_code !== undefined) {
        const labels = { method: req.method, route: routeOf(req), status_code: String(fields.status_code) }
        latency.observe(labels, (fields.duration_ms ?? 0) / 1000)
        return
      }
      if (!SECURITY_EVENT_NAMES.has(event)) return
      securityEvents.inc({ event: event as SecurityEventName })
      if (event === 'rate_limited') rateLimited.inc({ policy: String(fields.extra?.policy ?? 'unknown') })
      if (event === 'upload_rejected') images.inc({ outcome: String(fields.extra?.reason ?? 'invalid') })
    },
  }

  return {
    registry,
    observer,
    /** Counts an accepted image (rejections are counted from their upload_rejected event). */
    imageAccepted: () => images.inc({ outcome: 'accepted' }),
    /** What the rate limiter tells of its store (security/rate-limit/service.ts). */
    rateLimitStore: {
      redisUnavailable() {
        redisFallback.set(1)
        redisFallbacks.inc()
      },
      redisRecovered() {
        redisFallback.set(0)
      },
    } satisfies RateLimitStoreObserver,
    /** The checks `lectern_ready` and `lectern_readiness_check` run at each scrape: those of GET /readyz. */
    watchReadiness(checks: readonly ReadinessCheck[]) {
      readinessChecks = checks
      ready.reset()
      readinessCheck.reset()
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * GET /metrics in Prometheus text format. Off (404) unless METRICS_TOKEN is set; then only with
 * `Authorization: Bearer <token>`, compared in constant time. Exposition is not public data:
 * route names, error rates and security event counts help an attacker calibrate.
 */
export async function metricsRoutes(app: FastifyInstance, opts: { metrics: Metrics; token: string | null }) {
  const expected = opts.token === null ? null : digest(opts.token)
  // Public to the session layer: its own bearer token (METRICS_TOKEN) decides.
  app.get('/metrics', { config: { access: 'public' } }, async (req, reply) => {
    if (expected === null) throw notFound()
    const header = req.headers.authorization ?? ''
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : ''
    if (!timingSafeEqual(digest(presented), expected)) {
      throw unauthorized('Metrics token required')
    }
    reply.type(opts.metrics.registry.contentType)
    return opts.metrics.registry.metrics()
  })
}
