import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { isCI } from './services.ts'

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

/** A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function runs(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Both binaries a private Redis needs: the server, and redis-cli to ping and stop it. */
export function privateRedisAvailable(): boolean {
  return runs('redis-server') && runs('redis-cli')
}

/**
 * For suites that stop and restart a Redis of their own: true when they can. Outside CI a
 * missing binary skips the suite with a loud notice (as test/support/services.ts does for a
 * missing server); with CI=true it is a failure.
 */
export function privateRedisOrSkip(): boolean {
  if (privateRedisAvailable()) return true
  const how = 'install Redis (apt-get install redis-server) so that redis-server and redis-cli are on PATH'
  if (isCI) throw new Error(`CI requires the redis-server and redis-cli binaries: ${how}`)
  process.stderr.write(`\n!!! SKIPPING: redis-server or redis-cli not found: ${how}\n\n`)
  return false
}

const STOP_DEADLINE_MS = 10_000

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
  let child: ChildProcess | null = null
  // A test that fails before its cleanup must not leave this server running after the test process.
  const killOnExit = () => child?.kill('SIGKILL')
  const start = async () => {
    // Never adopt (and later shut down) a Redis someone else runs on this port.
    if (ping()) throw new Error(`a Redis already answers on port ${port}`)
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore', detached: true },
    )
    server.unref()
    child = server
    process.once('exit', killOnExit)
    const deadline = Date.now() + 10_000
    while (!ping()) {
      if (server.exitCode !== null) throw new Error(`redis on ${port} exited with ${server.exitCode} at start`)
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
    const deadline = Date.now() + STOP_DEADLINE_MS
    while (ping()) {
      if (Date.now() > deadline) {
        child?.kill('SIGKILL') // the server ignored SHUTDOWN: it must still go
        throw new Error(`redis on ${port} did not stop`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    child = null
    process.off('exit', killOnExit)
  }
  await start()
  return { url, start, stop }
}
