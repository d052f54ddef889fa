import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/**
 * Private PostgreSQL and Redis servers for fault tests: they are stopped and restarted on
 * purpose, so they must never be the shared servers other test files are using.
 */

const PG_ROOT = '/usr/lib/postgresql'

function postgresBin(name: string): string | null {
  if (!existsSync(PG_ROOT)) return null
  const version = readdirSync(PG_ROOT).sort().at(-1)
  const path = version ? join(PG_ROOT, version, 'bin', name) : ''
  return existsSync(path) ? path : null
}

/** How to run a PostgreSQL binary: servers refuse to run as root, so as the postgres user then. */
function asPostgres(binary: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args]
}

export interface PrivatePostgres {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

export function privatePostgresAvailable(): boolean {
  return postgresBin('initdb') !== null && postgresBin('pg_ctl') !== null
}

async function waitForPostgres(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    try {
      await client.connect()
      await client.query('select 1')
      await client.end()
      return
    } catch (error) {
      await client.end().catch(() => {})
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

export async function startPrivatePostgres(port: number): Promise<PrivatePostgres> {
  const initdb = postgresBin('initdb')
  const pgCtl = postgresBin('pg_ctl')
  if (!initdb || !pgCtl) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql')
  const dir = mkdtempSync(join(tmpdir(), 'lectern-pg-'))
  const dataDir = join(dir, 'data')
  if (process.getuid?.() === 0) {
    chmodSync(dir, 0o755)
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
    chownSync(dir, uid, gid)
  }
  const run = (binary: string, args: string[]) => {
    const [command, argv] = asPostgres(binary, args)
    execFileSync(command, argv, { stdio: 'ignore' })
  }
  run(initdb, ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const start = async () => {
    run(pgCtl, ['-D', dataDir, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start'])
    await waitForPostgres(url)
  }
  const stop = async () => run(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'])
  await start()
  return {
    url,
    start,
    stop,
    async destroy() {
      await stop().catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface PrivateRedis {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
}

export function privateRedisAvailable(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export async function startPrivateRedis(port: number): Promise<PrivateRedis> {
  const url = `redis://127.0.0.1:${port}`
  const ping = () => {
    try {
      return (
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim() === 'PONG'
      )
    } catch {
      return false
    }
  }
  const start = async () => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
        detached: true,
      },
    )
    child.unref()
    const deadline = Date.now() + 10_000
    while (!ping()) {
      if (Date.now() > deadline) throw new Error(`redis on ${port} did not start`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const stop = async () => {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' })
    } catch {
      // Already gone: shutdown closes the connection before answering.
    }
    const deadline = Date.now() + 10_000
    while (ping()) {
      if (Date.now() > deadline) throw new Error(`redis on ${port} did not stop`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  await start()
  return { url, start, stop }
}
