// The Lectern stack as `lectern serve` builds it, with the password hasher's concurrency bound
// given on the command line, so bench/login can compare bounds on the same code.
// Usage: node --import tsx bench/login/server.ts MAX_CONCURRENT   (environment as for serve)
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { migrateToLatest, openDatabase, sqlitePathFor } from '../../src/db/database.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createProcessLogger } from '../../src/main.ts'
import { createPasswordHasher } from '../../src/security/passwords.ts'

const maxConcurrent = Number(process.argv[2])
if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new Error('usage: server.ts MAX_CONCURRENT')
const config = loadConfig(process.env)
const { logger } = createProcessLogger(config)
const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(config.dataDir) })
await migrateToLatest(database.db)
const app = await buildApp({
  config,
  database,
  logger,
  clock: systemClock,
  sessionSecret: 'bench-secret-that-is-long-enough-0123456789abcdef',
  passwords: createPasswordHasher({ maxConcurrent }),
})
const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.stderr.write(`listening on ${url}\n`)
process.once(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => database.close())
      .then(() => process.exit(0)),
)
