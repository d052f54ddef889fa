import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import type { Config } from './config/index.ts'
import { tightenStoredFileModes } from './config/file-modes.ts'
import { ensureSessionSecret } from './config/secret.ts'
import { migrateToLatest, openDatabase, sqlitePathFor } from './db/database.ts'
import { seedDemoContent } from './modules/importer/demo-content.ts'
import { systemClock } from './lib/clock.ts'
import { modeText } from './lib/private-files.ts'
import { createRotatingFileSink } from './logging/file-sink.ts'
import { createLogger, logEvent, type Logger } from './logging/logger.ts'
import { batchLines, createStdoutSink, teeSinks, type ChunkSink, type ClosableSink } from './logging/sinks.ts'
import { closeRedisClient, createRedisClient } from './security/rate-limit/redis-client.ts'
import { createAccountsRepository } from './modules/accounts/accounts.repository.ts'
import { CREATE_ADMIN_COMMAND } from './modules/accounts/first-admin.ts'

/** How long in-flight requests get to finish after SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000

export function createProcessLogger(config: Config): { logger: Logger; sink: ClosableSink } {
  const sinks: ChunkSink[] = [createStdoutSink()]
  // Declared before the logger exists: rotation is reported on the next tick, never re-entrantly.
  let logger: Logger | undefined
  if (config.logFile) {
    sinks.push(
      createRotatingFileSink({
        path: config.logFile,
        retentionDays: config.logRetentionDays,
        clock: systemClock,
        onRotate: (rotated, removed) =>
          setImmediate(() => logger && logEvent(logger, 'info', 'log_rotated', { extra: { rotated, removed } })),
      }),
    )
  }
  const sink = batchLines(teeSinks(sinks), { clock: systemClock })
  // However the process ends (a crash, a failed start-up), the lines that explain it are written.
  process.once('exit', () => sink.flushSync())
  logger = createLogger({ level: config.logLevel, sink, clock: systemClock })
  return { logger, sink }
}

/** `lectern serve`: config → database → app → listen, and a graceful stop on SIGTERM/SIGINT. */
export async function serve(config: Config): Promise<FastifyInstance> {
  const { logger, sink } = createProcessLogger(config)
  // Before anything is read from DATA_DIR: files others could read are tightened, and each change
  // is a warning, since those files may already have been read (paths and modes, never contents).
  for (const change of tightenStoredFileModes(config)) {
    logEvent(logger, 'warning', 'file_permissions_tightened', {
      extra: { path: change.path, old_mode: modeText(change.oldMode), new_mode: modeText(change.newMode) },
    })
  }
  const sessionSecret = ensureSessionSecret(config.sessionSecret, config.dataDir)
  const database = openDatabase({
    databaseUrl: config.databaseUrl,
    sqlitePath: config.databaseUrl ? '' : sqlitePathFor(config.dataDir),
  })
  const applied = await migrateToLatest(database.db)
  logEvent(logger, 'info', 'database_migrated', {
    extra: { dialect: database.dialect, applied: applied.map((m) => m.migrationName) },
  })
  // Demo content on a database's first start only, never again (src/modules/importer/demo-content.ts).
  const seed = await seedDemoContent({ db: database.db, clock: systemClock })
  if (seed.seeded) {
    logEvent(logger, 'info', 'content_seeded', {
      extra: {
        imported: seed.imported.map(({ kind, slug, skipped, added }) => ({ kind, slug, skipped, parts: added })),
      },
    })
  }

  // A fresh installation has no admin: say, where the operator is looking, how to make one.
  if (!(await createAccountsRepository(database.db).hasAdmin())) {
    logEvent(logger, 'warning', 'no_admin', { extra: { command: CREATE_ADMIN_COMMAND } })
    process.stderr.write(`No admin account exists yet. Create the first one with:\n  ${CREATE_ADMIN_COMMAND}\n`)
  }

  // The client connects in the background: an unreachable Redis does not stop start-up, the
  // limits fall back to memory until it answers, and /readyz reports it.
  const redis = config.redisUrl ? createRedisClient(config.redisUrl) : undefined
  let app: FastifyInstance
  let address: string
  try {
    app = await buildApp({ config, database, logger, clock: systemClock, sessionSecret, redis })
    address = await app.listen({ port: config.port, host: config.host })
  } catch (error) {
    redis?.disconnect() // a reconnecting client would keep a failed start-up from exiting
    throw error
  }
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    logEvent(logger, 'info', 'server_stopping', { extra: { signal } })
    const forced = setTimeout(() => {
      logEvent(logger, 'warning', 'server_stopped', { extra: { forced: true } })
      void sink.close().finally(() => process.exit(1))
    }, SHUTDOWN_GRACE_MS)
    forced.unref()
    await app.close() // stops accepting, lets in-flight requests finish
    await database.close()
    if (redis) await closeRedisClient(redis)
    logEvent(logger, 'info', 'server_stopped', { extra: { forced: false } })
    await sink.close()
    clearTimeout(forced)
    process.exit(0)
  }
  // `on`, not `once`: a second signal (Ctrl-C reaches bin/lectern's relay and this process alike on
  // Node 22.12–22.17, and the relay passes its own on) must not kill the process mid-stop.
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  // Announced only once a stop signal is handled: whoever waits for this line may send SIGTERM.
  logEvent(logger, 'info', 'server_started', { extra: { url: address, dialect: database.dialect } })
  process.stderr.write(`Lectern is listening on ${address}\n`)
  return app
}
