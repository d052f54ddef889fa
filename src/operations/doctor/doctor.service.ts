import { statfs } from 'node:fs/promises'
import type { Config } from '../../config/index.ts'
import type { DatabaseHandle } from '../../db/database.ts'
import type { Clock } from '../../lib/clock.ts'
import { probeSmtp } from './probes.ts'
import { runDoctor } from './run.ts'
import { adminsWithoutSecondFactorIn } from '../../modules/two-factor/admins-without-second-factor.ts'
import type { DoctorReport } from './types.ts'

export interface DoctorServiceDeps {
  config: Config
  database: DatabaseHandle
  clock: Clock
  /** PING over the server's own Redis client, when REDIS_URL is set. */
  pingRedis?: () => Promise<void>
  /** Replaced by tests; the two-factor module's answer over the server's database otherwise. */
  adminsWithoutSecondFactor?: () => Promise<string[]>
}

/**
 * The readiness checks a running server can make of itself (GET /api/admin/doctor, the
 * /admin/readiness page): the same checks as `bin/lectern doctor` but "configuration", which the
 * server passed when it started. They look at this process: its user, its Node.js, its database and Redis.
 */
export function createDoctorService(deps: DoctorServiceDeps) {
  const { config, database, clock } = deps
  const { smtp } = config
  /** The run under way: callers arriving meanwhile (several admins, reloads) share it. */
  let running: Promise<DoctorReport> | null = null
  const run = () =>
    runDoctor(
      {
        config,
        database,
        databaseError: null,
        ...(deps.pingRedis ? { pingRedis: deps.pingRedis } : {}),
        ...(smtp ? { verifySmtp: () => probeSmtp(smtp) } : {}),
        adminsWithoutSecondFactor: deps.adminsWithoutSecondFactor ?? adminsWithoutSecondFactorIn(database.db),
        require2faFor: config.require2faFor,
        uid: process.getuid?.() ?? null,
        now: () => new Date(clock.now()),
        nodeVersion: process.versions.node,
        statfs: (path) => statfs(path),
      },
      { scope: 'server' },
    )
  return {
    /** A fresh report; while one is being made, that one (the checks open connections to Redis and SMTP). */
    report(): Promise<DoctorReport> {
      running ??= run().finally(() => (running = null))
      return running
    },
  }
}

export type DoctorService = ReturnType<typeof createDoctorService>
