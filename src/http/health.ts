import type { FastifyInstance } from 'fastify'

/** Something /readyz asks before saying the instance can take traffic. */
export interface ReadinessCheck {
  name: string
  check(): Promise<void>
}

export type ReadinessState = 'ok' | 'unavailable'

/** Runs every check at once; each bounds its own wait (database ping 2 s, Redis command 0.5 s). */
export function runReadinessChecks(checks: readonly ReadinessCheck[]): Promise<Array<[string, ReadinessState]>> {
  return Promise.all(
    checks.map(async ({ name, check }): Promise<[string, ReadinessState]> => {
      try {
        await check()
        return [name, 'ok']
      } catch {
        return [name, 'unavailable']
      }
    }),
  )
}

/** Liveness (the process answers) and readiness (its dependencies answer). */
export async function healthRoutes(app: FastifyInstance, opts: { checks: ReadinessCheck[] }) {
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { config: { access: 'public' } }, async (_req, reply) => {
    const results = await runReadinessChecks(opts.checks)
    const checks = Object.fromEntries(results)
    const ready = results.every(([, state]) => state === 'ok')
    reply.code(ready ? 200 : 503)
    return { status: ready ? 'ok' : 'unavailable', checks }
  })
}
