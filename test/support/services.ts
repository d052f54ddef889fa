/**
 * PostgreSQL and Redis suites run over real connections when TEST_DATABASE_URL / TEST_REDIS_URL
 * are set. Outside CI a missing server skips the suite with a loud notice; with CI=true it fails.
 */
export const isCI = process.env.CI === 'true'

export function serviceUrl(variable: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL', how: string): string | undefined {
  const url = process.env[variable]
  if (url) return url
  const notice = `${variable} is not set: ${how}`
  if (isCI) throw new Error(`CI requires ${variable}. ${how}`)
  process.stderr.write(`\n!!! SKIPPING: ${notice}\n\n`)
  return undefined
}

export const testDatabaseUrl = () =>
  serviceUrl('TEST_DATABASE_URL', 'start PostgreSQL and set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test')
export const testRedisUrl = () =>
  serviceUrl('TEST_REDIS_URL', 'start Redis and set TEST_REDIS_URL=redis://127.0.0.1:6379')
