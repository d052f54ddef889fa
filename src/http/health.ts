import type { FastifyInstance } from 'fastify'

/** Something /readyz asks before saying the instance can take traffic. */
export interface ReadinessCheck {
  name: string
  check(): Promise<void>
}

/** Liveness (the process answers) and readiness (its dependencies answer). */
export async function healthRoutes(app: FastifyInstance, opts: { checks: ReadinessCheck[] }) {
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { config: { access: 'public' } }, async (_req, reply) => {
    const results = await Promise.all(
      opts.checks.map(async ({ name, check }) => {
        try {
          await check()
          return [name, 'ok'] as const
        } catch {
          return [name, 'unavailable'] as const
        }
      }),
    )
    const checks = Object.fromEntries(results)
    const ready = results.every(([, state]) => state === 'ok')
    reply.code(ready ? 200 : 503)
    return { status: ready ? 'ok' : 'unavailable', checks }
  })
}
