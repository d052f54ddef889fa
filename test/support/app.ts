import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../../src/app.ts'
import { loadConfig, type Config } from '../../src/config/index.ts'
import type { DatabaseHandle } from '../../src/db/database.ts'
import { createManualClock, type ManualClock } from '../../src/lib/clock.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { createMemorySink } from '../../src/logging/sinks.ts'
import { createPasswordHasher, TEST_PASSWORD_PARAMS } from '../../src/security/passwords.ts'
import { createTestDatabase, type TestDatabaseKind } from './database.ts'
import { logLineProblem } from './log-schema.ts'

export const TEST_SESSION_SECRET = 'test-secret-that-is-long-enough-0123456789abcdef'

export interface TestApp {
  app: FastifyInstance
  config: Config
  database: DatabaseHandle
  clock: ManualClock
  /** Every log line the app wrote, parsed. */
  logs(): Record<string, unknown>[]
  /** Log lines of one event name. */
  events(name: string): Record<string, unknown>[]
  /** Closes everything; fails if any log line broke docs/log-schema.json. */
  close(): Promise<void>
}

export interface TestAppOptions {
  /** Environment variables, as an operator would set them. */
  env?: Record<string, string>
  database?: TestDatabaseKind
  postgresUrl?: string
  clock?: ManualClock
  /** Extra dependencies or replacements (e.g. a Redis client). */
  deps?: Partial<AppDeps>
  /** Routes that exist only for a test, registered before the app is ready. */
  routes?: (app: FastifyInstance) => void
}

/**
 * The real application, in-process, on a private database, with a manual clock and every log
 * line captured. Every line is checked against docs/log-schema.json when the app closes, so
 * every test of every module also tests the log contract.
 */
export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lectern-test-'))
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'debug', ...options.env })
  const clock = options.clock ?? createManualClock()
  const sink = createMemorySink()
  const logger = createLogger({ level: config.logLevel, sink, clock })
  const database = await createTestDatabase(options.database ?? 'sqlite', options.postgresUrl)
  const app = await buildApp({
    config,
    database,
    logger,
    clock,
    sessionSecret: TEST_SESSION_SECRET,
    // Cheap argon2 parameters keep suites fast; test/unit/passwords.test.ts checks the production ones.
    passwords: createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 4 }),
    ...options.deps,
  })
  options.routes?.(app)
  await app.ready()
  return {
    app,
    config,
    database,
    clock,
    logs: () => sink.records(),
    events: (name) => sink.records().filter((record) => record.event === name),
    async close() {
      await app.close()
      await database.close()
      rmSync(dataDir, { recursive: true, force: true })
      const problems = sink.lines.map(logLineProblem).filter((problem) => problem !== null)
      if (problems.length > 0) throw new Error(`log lines break docs/log-schema.json:\n${problems.join('\n')}`)
    },
  }
}

/** Runs `run` against a fresh app built with `options`, closing it (and checking its log lines) after. */
export async function withApp(options: TestAppOptions, run: (t: TestApp) => Promise<void>): Promise<void> {
  const t = await buildTestApp(options)
  try {
    await run(t)
  } finally {
    await t.close()
  }
}
