import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import {
  freeLoopbackPort,
  privateRedisOrSkip,
  startPrivateRedis,
  type PrivateRedis,
} from '../support/private-services.ts'
import { startServer, type RunningServer } from '../support/process.ts'
import { testDatabaseUrl, testRedisUrl } from '../support/services.ts'

/** PostgreSQL URL whose connections work in `schema` (pg reads libpq's `options` parameter). */
export function urlWithSchema(url: string, schema: string): string {
  const parsed = new URL(url)
  parsed.searchParams.set('options', `-c search_path=${schema}`)
  return parsed.toString()
}

/** A fresh schema on the shared test server, dropped by the returned function. */
export async function createSchema(url: string): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `scale_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`create schema ${schema}`)
  await client.end()
  return {
    schema,
    async drop() {
      const cleanup = new pg.Client({ connectionString: url })
      await cleanup.connect()
      await cleanup.query(`drop schema if exists ${schema} cascade`)
      await cleanup.end()
    },
  }
}

export const SHARED_SECRET = `scale-test-secret-${randomBytes(24).toString('hex')}`

/** Lectern server processes sharing one database and Redis, each with its own DATA_DIR. */
export async function startInstances(
  count: number,
  env: Record<string, string>,
): Promise<{ servers: RunningServer[]; stopAll(): Promise<void> }> {
  const dirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), 'lectern-instance-')))
  // Started together on purpose: migrations must be safe when instances race at start-up.
  const started = await Promise.allSettled(
    dirs.map((dir) => startServer({ SESSION_SECRET: SHARED_SECRET, DATA_DIR: dir, ...env }, 60_000)),
  )
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) {
    // One did not start: the ones that did must not outlive the test.
    await Promise.all(servers.map((server) => server.stop('SIGKILL')))
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    throw failed.reason
  }
  return {
    servers,
    async stopAll() {
      await Promise.all(servers.map((server) => server.stop('SIGTERM')))
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Every log line the instances wrote so far (those that started), for schema checks after the suite. */
export function logLinesOf(servers: Array<RunningServer | undefined>): string[] {
  return servers.flatMap((server) => (server ? server.stdout().trim().split('\n').filter(Boolean) : []))
}

/**
 * The test PostgreSQL, and whether the suites that start a private redis-server can run:
 * skipped with a loud notice outside CI when something is missing, a failure in CI.
 */
export function clusterServices(): { postgresUrl: string | undefined; skip: boolean } {
  const postgresUrl = testDatabaseUrl()
  const redisBinaries = privateRedisOrSkip()
  return { postgresUrl, skip: !postgresUrl || testRedisUrl() === undefined || !redisBinaries }
}

export interface Cluster {
  servers: RunningServer[]
  redis: PrivateRedis
  /** The shared schema's URL, for CLI commands run against the same database. */
  databaseUrl: string
  stop(): Promise<void>
}

/**
 * `count` instances on a fresh schema of the test PostgreSQL and a private redis-server on a
 * free port. Whatever did start is stopped and removed if a later step fails, and by stop().
 */
export async function startCluster(
  postgresUrl: string,
  count: number,
  env: Record<string, string> = {},
): Promise<Cluster> {
  const { schema, drop } = await createSchema(postgresUrl)
  const databaseUrl = urlWithSchema(postgresUrl, schema)
  let redis: PrivateRedis
  try {
    redis = await startPrivateRedis(await freeLoopbackPort())
  } catch (error) {
    await drop()
    throw error
  }
  const stopServices = async () => {
    try {
      await redis.stop()
    } finally {
      await drop()
    }
  }
  let instances: Awaited<ReturnType<typeof startInstances>>
  try {
    instances = await startInstances(count, { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, ...env })
  } catch (error) {
    await stopServices()
    throw error
  }
  return {
    servers: instances.servers,
    redis,
    databaseUrl,
    async stop() {
      try {
        await instances.stopAll()
      } finally {
        await stopServices()
      }
    },
  }
}
