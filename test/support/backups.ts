import { gzipSync } from 'node:zlib'
import { create as createTar } from 'tar'
import { ensureSessionSecret } from '../../src/config/secret.ts'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import type { ManualClock } from '../../src/lib/clock.ts'
import { buildTestApp, type TestApp } from './app.ts'

/**
 * The application on a real DATA_DIR (its SQLite file and generated session secret there), or on
 * a PostgreSQL database, as `serve` runs it: what a backup copies and a restore brings back.
 */
export async function appOnDataDir(
  dataDir: string,
  opts: { databaseUrl?: string; clock?: ManualClock } = {},
): Promise<{ t: TestApp; database: DatabaseHandle; close(): Promise<void> }> {
  const sessionSecret = ensureSessionSecret(null, dataDir)
  const database = openDatabase({
    databaseUrl: opts.databaseUrl ?? null,
    sqlitePath: opts.databaseUrl ? '' : sqlitePathFor(dataDir),
    pgPoolSize: 4,
  })
  await migrateToLatest(database.db)
  const t = await buildTestApp({
    env: { DATA_DIR: dataDir, RATE_LIMIT_REGISTER: '10000/1h', RATE_LIMIT_LOGIN: '1000/15m' },
    ...(opts.clock ? { clock: opts.clock } : {}),
    deps: { database, sessionSecret },
  })
  return {
    t,
    database,
    async close() {
      await t.close()
      await database.close()
    },
  }
}

/** One ustar header block and body, by hand: what a careful tool would refuse to write. */
export function tarEntry(name: string, body: string, opts: { type?: string; linkname?: string } = {}): Buffer {
  const header = Buffer.alloc(512)
  const data = Buffer.from(body)
  const field = (value: string, offset: number, length: number) => header.write(value, offset, length, 'utf8')
  const octal = (value: number, offset: number, length: number) =>
    field(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length)
  field(name, 0, 100)
  octal(0o600, 100, 8)
  octal(0, 108, 8)
  octal(0, 116, 8)
  octal(data.length, 124, 12)
  octal(Math.floor(Date.now() / 1000), 136, 12)
  field('        ', 148, 8)
  field(opts.type ?? '0', 156, 1)
  field(opts.linkname ?? '', 157, 100)
  field('ustar\0', 257, 6)
  field('00', 263, 2)
  let sum = 0
  for (const byte of header) sum += byte
  field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([header, data, padding])
}

/** A .tar.gz of these hand-made entries, with the two zero blocks that end an archive. */
export function handMadeArchive(entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]))
}

/** Packs a folder's manifest.json, database/ and data/ again, as `lectern backup` lays them out. */
export async function repack(folder: string, file: string): Promise<void> {
  await createTar({ file, gzip: true, cwd: folder, portable: true }, ['manifest.json', 'database', 'data'])
}
