// bench/ratelimit, in-process part: the same app as server.ts, driven by app.inject, alternating
// small batches of the unlimited and the limited route so that a change in machine load hits
// both alike. Reports per-request times and the median of the per-round differences.
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { migrateToLatest, openDatabase } from '../../src/db/database.ts'
import { systemClock } from '../../src/lib/clock.ts'
import { createLogger } from '../../src/logging/logger.ts'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'

export interface PairedResult {
  store: string
  unlimitedUs: number
  limitedUs: number
  overheadUs: number
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

export async function pairedOverhead(opts: {
  redisUrl?: string
  rounds: number
  batch: number
}): Promise<PairedResult> {
  const config = loadConfig({ DATA_DIR: '/nonexistent', RATE_LIMIT_LOGIN: '1000000000/1h', LOG_LEVEL: 'warning' })
  const database = openDatabase({ databaseUrl: null, sqlitePath: ':memory:' })
  await migrateToLatest(database.db)
  const redis = opts.redisUrl ? createRedisClient(opts.redisUrl, { keyPrefix: `bench:${process.pid}:` }) : undefined
  if (redis) await new Promise((resolve) => redis.once('ready', resolve))
  const logger = createLogger({ level: 'warning', sink: { write: () => {} }, clock: systemClock })
  const app = await buildApp({ config, database, logger, clock: systemClock, sessionSecret: 'b'.repeat(48), redis })
  const handler = async () => ({ ok: true })
  app.post('/bench/limited', { config: { rateLimit: 'login' } }, handler)
  app.post('/bench/unlimited', handler)
  await app.ready()

  try {
    const tokenRes = await app.inject('/csrf-token')
    const cookie = String(tokenRes.headers['set-cookie']).split(';')[0]!
    const headers = { cookie, 'x-csrftoken': (tokenRes.json() as { csrf_token: string }).csrf_token }
    const batchUs = async (url: string) => {
      const started = process.hrtime.bigint()
      for (let i = 0; i < opts.batch; i += 1) {
        const res = await app.inject({ method: 'POST', url, headers })
        if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`)
      }
      return Number(process.hrtime.bigint() - started) / 1000 / opts.batch
    }
    await batchUs('/bench/unlimited') // warm-up
    await batchUs('/bench/limited')
    const unlimited: number[] = []
    const limited: number[] = []
    for (let round = 0; round < opts.rounds; round += 1) {
      // Alternate which goes first, so neither always runs on a warmer or colder machine.
      const pair = round % 2 === 0 ? ['/bench/unlimited', '/bench/limited'] : ['/bench/limited', '/bench/unlimited']
      for (const url of pair) (url === '/bench/limited' ? limited : unlimited).push(await batchUs(url))
    }
    return {
      store: redis ? 'redis' : 'memory',
      unlimitedUs: median(unlimited),
      limitedUs: median(limited),
      overheadUs: median(limited.map((value, i) => value - unlimited[i]!)),
    }
  } finally {
    await app.close()
    await database.close()
    if (redis) {
      const prefix = `bench:${process.pid}:`
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(prefix.length)))
      await closeRedisClient(redis)
    }
  }
}
