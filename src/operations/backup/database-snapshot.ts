import { spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import SQLite from 'better-sqlite3'
import { BackupError } from './errors.ts'

/** The environment the command was given (its PATH finds the tools); the child gets it too. */
type Env = Readonly<Record<string, string | undefined>>

/**
 * A consistent copy of the live SQLite file through SQLite's online backup API, while a server
 * may be writing: a file copy could catch a page half-written or miss what is still in the WAL.
 * A write by another connection between two steps restarts the copy, so after the first step
 * the rest goes in one.
 */
export async function snapshotSqlite(databasePath: string, destination: string): Promise<void> {
  const source = new SQLite(databasePath, { readonly: true, fileMustExist: true })
  try {
    source.pragma('busy_timeout = 5000')
    await source.backup(destination, { progress: ({ totalPages }) => Math.max(totalPages, 100) })
  } finally {
    source.close()
  }
  // The copy keeps the live file's WAL mode, which makes whoever opens it make -wal and -shm files
  // beside it: one self-contained file instead (the server turns WAL on again when it opens it).
  const copy = new SQLite(destination, { fileMustExist: true })
  try {
    copy.pragma('journal_mode = DELETE')
  } finally {
    copy.close()
  }
}

/** The full path of `program` on PATH, or null. */
export async function findOnPath(program: string, path: string): Promise<string | null> {
  for (const folder of path.split(delimiter).filter(Boolean)) {
    const candidate = join(folder, program)
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this folder
    }
  }
  return null
}

/**
 * The connection for libpq's tools: the URL without its password (which a process list would
 * show) and the password in PGPASSWORD, where only this child sees it. The password may be in the
 * user part or in the query string (`?password=`, which libpq and node-postgres both read).
 */
export function libpqConnection(databaseUrl: string, env: Env): { dbname: string; env: Env } {
  const url = new URL(databaseUrl)
  let password = decodeURIComponent(url.password)
  url.password = ''
  if (url.searchParams.has('password')) {
    password = url.searchParams.get('password') ?? ''
    url.searchParams.delete('password')
  }
  return { dbname: url.toString(), env: { ...env, ...(password ? { PGPASSWORD: password } : {}) } }
}

/** Runs a libpq tool; rejects with its standard error (which never holds the password) when it fails. */
function run(program: string, args: string[], env: Env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve()
      else reject(new Error(`${program} exited with status ${code}: ${stderr.trim()}`))
    })
  })
}

async function tool(name: 'pg_dump' | 'pg_restore', env: Env): Promise<string> {
  const found = await findOnPath(name, env.PATH ?? '')
  if (!found) {
    throw new BackupError(
      `${name} is not on PATH: install PostgreSQL's client tools (e.g. apt install postgresql-client)`,
    )
  }
  return found
}

/** pg_dump's custom format: compressed, and pg_restore recreates the schema and data from it. */
export async function dumpPostgres(databaseUrl: string, destination: string, env: Env): Promise<void> {
  const program = await tool('pg_dump', env)
  const connection = libpqConnection(databaseUrl, env)
  const args = [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${destination}`,
    `--dbname=${connection.dbname}`,
  ]
  await run(program, args, connection.env)
}

/** Into an empty database, all or nothing (one transaction). */
export async function restorePostgres(databaseUrl: string, dump: string, env: Env): Promise<void> {
  const program = await tool('pg_restore', env)
  const connection = libpqConnection(databaseUrl, env)
  const args = [
    '--no-owner',
    '--no-privileges',
    '--single-transaction',
    '--exit-on-error',
    `--dbname=${connection.dbname}`,
    dump,
  ]
  await run(program, args, connection.env)
}
