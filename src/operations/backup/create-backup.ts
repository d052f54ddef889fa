import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, mkdir, mkdtemp, open, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { create as createTar } from 'tar'
import type { Config } from '../../config/index.ts'
import { openDatabase, SQLITE_FILE_NAME } from '../../db/database.ts'
import { migrationStatus } from '../../db/migration-status.ts'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../lib/private-files.ts'
import { rotatedPattern } from '../../logging/file-sink.ts'
import { listDataDir } from './data-files.ts'
import { dumpPostgres, snapshotSqlite } from './database-snapshot.ts'
import { BackupError } from './errors.ts'
import { copyWithChecksum, hashingTap } from './hashing-copy.ts'
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  DATA_FOLDER,
  DATABASE_FOLDER,
  lecternVersion,
  MANIFEST_PATH,
  POSTGRES_DUMP_PATH,
  SQLITE_SNAPSHOT_PATH,
  type Manifest,
  type ManifestFile,
} from './manifest.ts'

type Env = Readonly<Record<string, string | undefined>>

export interface BackupResult {
  manifest: Manifest
  /** Paths in DATA_DIR left out because they are links or special files. */
  skipped: string[]
}

async function checksumOf(path: string): Promise<{ size: number; sha256: string }> {
  const tap = hashingTap()
  await pipeline(createReadStream(path), tap.stream, new Writable({ write: (_chunk, _encoding, done) => done() }))
  return tap.result()
}

/** The newest migration applied in a database, '' when none is. */
async function schemaVersionOf(db: Kysely<any>): Promise<string> {
  return (await migrationStatus(db)).applied.at(-1) ?? ''
}

async function schemaVersionOfSqlite(path: string): Promise<string> {
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(path, { readonly: true }) }) })
  try {
    return await schemaVersionOf(db)
  } finally {
    await db.destroy()
  }
}

/** The database snapshot in `staging`, and the schema version it holds. */
async function snapshotDatabase(config: Config, staging: string, env: Env): Promise<{ path: string; schema: string }> {
  await mkdir(join(staging, DATABASE_FOLDER), { mode: PRIVATE_DIR_MODE })
  if (config.databaseUrl) {
    const database = openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: '', pgPoolSize: 1 })
    let schema: string
    try {
      schema = await schemaVersionOf(database.db)
    } finally {
      await database.close()
    }
    await dumpPostgres(config.databaseUrl, join(staging, POSTGRES_DUMP_PATH), env)
    return { path: POSTGRES_DUMP_PATH, schema }
  }
  const live = join(config.dataDir, SQLITE_FILE_NAME)
  const exists = await stat(live).then(
    (stats) => stats.isFile(),
    () => false,
  )
  if (!exists) throw new BackupError(`there is no database to back up: ${live} does not exist`)
  const snapshot = join(staging, SQLITE_SNAPSHOT_PATH)
  await snapshotSqlite(live, snapshot)
  return { path: SQLITE_SNAPSHOT_PATH, schema: await schemaVersionOfSqlite(snapshot) }
}

/**
 * What of DATA_DIR never goes into a backup besides the live database: the logs (they are not
 * state, and may be large), the archive being written, and backups kept inside DATA_DIR.
 */
function exclusions(config: Config, target: string): (path: string) => boolean {
  const logPattern = config.logFile ? rotatedPattern(config.logFile) : null
  const targetFolder = dirname(target)
  return (path) =>
    path === config.logFile ||
    (logPattern !== null && dirname(path) === dirname(config.logFile!) && logPattern.test(basename(path))) ||
    path === config.backupDir ||
    (targetFolder !== config.dataDir && path === targetFolder) ||
    (dirname(path) === targetFolder && basename(path).startsWith(`.${basename(target)}.`)) ||
    path === target
}

/**
 * `bin/lectern backup FILE` (CONTRACT §16): the database snapshot and DATA_DIR's other files,
 * each listed with its size and SHA-256 in manifest.json, in one .tar.gz written to a temporary
 * file beside FILE (mode 0600) and renamed onto it: FILE is whole or absent, never half-written.
 */
export async function createBackup(
  config: Config,
  target: string,
  opts: { env: Env; now: () => Date },
): Promise<BackupResult> {
  const folder = dirname(target)
  const folderOk = await stat(folder).then(
    (stats) => stats.isDirectory(),
    () => false,
  )
  if (!folderOk) throw new BackupError(`the folder ${folder} does not exist`)
  // Beside FILE, on the disk that must hold the archive anyway, never in the system's temporary
  // folder (often a tmpfs: a DATA_DIR of media copied there is memory). mkdtemp makes it 0700: it
  // holds password hashes. Its name is one exclusions() leaves out when FILE is inside DATA_DIR.
  const staging = await mkdtemp(join(folder, `.${basename(target)}.staging-`))
  const temporary = join(folder, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const database = await snapshotDatabase(config, staging, opts.env)
    const files: ManifestFile[] = [{ path: database.path, ...(await checksumOf(join(staging, database.path))) }]

    await mkdir(join(staging, DATA_FOLDER), { mode: PRIVATE_DIR_MODE })
    const contents = await listDataDir(config.dataDir, exclusions(config, target))
    for (const relative of contents.folders) {
      await mkdir(join(staging, DATA_FOLDER, relative), { mode: PRIVATE_DIR_MODE })
    }
    for (const relative of contents.files) {
      const path = `${DATA_FOLDER}/${relative}`
      const copied = await copyWithChecksum(join(config.dataDir, relative), join(staging, path)).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return null // removed since it was listed (a message sent, say)
          throw error
        },
      )
      if (copied !== null) files.push({ path, ...copied })
    }

    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      format_version: BACKUP_FORMAT_VERSION,
      lectern_version: lecternVersion(),
      schema_version: database.schema,
      created_at: opts.now().toISOString(),
      database: config.databaseUrl ? 'postgres' : 'sqlite',
      files,
    }
    await writeFile(join(staging, MANIFEST_PATH), `${JSON.stringify(manifest, null, 2)}\n`, { mode: PRIVATE_FILE_MODE })
    // portable: no owner names or ids of this machine; the manifest first, so a reader meets it first.
    await createTar({ file: temporary, gzip: true, cwd: staging, portable: true, mode: PRIVATE_FILE_MODE }, [
      MANIFEST_PATH,
      DATABASE_FOLDER,
      DATA_FOLDER,
    ])
    await chmod(temporary, PRIVATE_FILE_MODE) // the archive's mode passed through the umask
    // On disk before it takes FILE's name: a crash after the rename must not leave an empty backup.
    const handle = await open(temporary, 'r')
    await handle.sync().finally(() => handle.close())
    await rename(temporary, target)
    return { manifest, skipped: contents.skipped }
  } finally {
    await rm(temporary, { force: true })
    await rm(staging, { recursive: true, force: true })
  }
}
