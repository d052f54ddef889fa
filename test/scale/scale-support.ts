import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startServer, type RunningServer } from '../support/process.ts'

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
