import { ok, problem, type DoctorCheck } from '../types.ts'

/** With REDIS_URL, the shared rate-limit counters must be reachable, or each instance counts alone. */
export const redisCheck: DoctorCheck = {
  name: 'redis',
  level: 'FAIL',
  fix: 'start Redis or correct REDIS_URL; until it answers, each instance keeps its own counters',
  scope: 'any',
  async run({ pingRedis }) {
    if (!pingRedis) return ok('REDIS_URL is not set: rate limits are counted in memory (one instance only)')
    try {
      await pingRedis()
      return ok('Redis answers PING')
    } catch (error) {
      return problem(`Redis does not answer PING: ${(error as Error).message}`)
    }
  },
}
