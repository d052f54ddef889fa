// The server for bench/ratelimit: the whole Lectern app (sessions, CSRF, logging, limits) with two
// routes that differ only in their rate-limit policy. Configured from the environment, like
// `lectern serve`; REDIS_URL selects the Redis store. Prints "listening on URL" to stderr.
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { ensureSessionSecret } from '../../src/config/secret.ts'
import { migrateToLatest, openDatabase, sqlitePathFor } from '../../src/db/database.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createProcessLogger } from '../../src/main.ts'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'

const config = loadConfig(process.env)
const { logger, sink } = createProcessLogger(config)
const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(config.dataDir) })
await migrateToLatest(database.db)
const redis = config.redisUrl ? createRedisClient(config.redisUrl) : undefined
const app = await buildApp({
  config,
  database,
  logger,
  clock: systemClock,
  sessionSecret: ensureSessionSecret(config.sessionSecret, config.dataDir),
  redis,
})
const handler = async () => ({ ok: true })
app.post('/bench/limited', { config: { rateLimit: 'login' } }, handler)
app.post('/bench/unlimited', handler)

const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.stderr.write(`listening on ${url}\n`)
async function shutdown() {
  await app.close()
  await database.close()
  if (redis) await closeRedisClient(redis)
  await sink.close()
  process.exit(0)
}
process.once('SIGTERM', () => void shutdown())
