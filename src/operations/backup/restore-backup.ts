import { copyFile, chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { sql } from 'kysely'
import type { Config } from '../../config/index.ts'
import { openDatabase, SQLITE_FILE_NAME } from '../../db/database.ts'
import { KNOWN_MIGRATIONS, LATEST_MIGRATION } from '../../db/migration-status.ts'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../lib/private-files.ts'
import { restorePostgres } from './database-snapshot.ts'
import { BackupError } from './errors.ts'
import {
  DATA_FOLDER,
  MANIFEST_PATH,
  parseManifest,
  POSTGRES_DUMP_PATH,
  SQLITE_SNAPSHOT_PATH,
  type Manifest,
} from './manifest.ts'
import { readArchive, type ArchiveContents } from './read-archive.ts'

type Env = Readonly<Record<string, string | undefined>>

/** DATA_DIR absent, or an empty folder; anything else is refused (a restore never merges). */
async function requireEmptyDataDir(dataDir: string): Promise<void> {
  let stats
  try {
    stats = await lstat(dataDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!stats.isDirectory()) throw new BackupError(`DATA_DIR ${dataDir} is not a folder`)
  if ((await readdir(dataDir)).length > 0) {
    throw new BackupError(`DATA_DIR ${dataDir} is not empty: restore only into an empty (or new) DATA_DIR`)
  }
}

/** Tables in any schema of the database but PostgreSQL's own: none, or the restore is refused. */
async function requireEmptyPostgres(databaseUrl: string): Promise<void> {
  const database = openDatabase({ databaseUrl, sqlitePath: '', pgPoolSize: 1 })
  try {
    const { rows } = await sql<{ tables: number }>`
      select count(*)::int as tables from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema')`.execute(database.db)
    if ((rows[0]?.tables ?? 0) > 0) {
      throw new BackupError('the PostgreSQL database of DATABASE_URL is not empty: restore only into an empty database')
    }
  } finally {
    await database.close()
  }
}

async function requireEmptyTarget(config: Config): Promise<void> {
  await requireEmptyDataDir(config.dataDir)
  if (config.databaseUrl) await requireEmptyPostgres(config.databaseUrl)
}

/**
 * The manifest agrees with the archive byte for byte: every file it lists is there with its size
 * and SHA-256, and nothing else is; the database is the kind configured here; the schema is one
 * this Lectern knows (a newer one could not be served, nor migrated back).
 */
function verify(manifest: Manifest, contents: ArchiveContents, config: Config): void {
  const listed = new Set(manifest.files.map((file) => file.path))
  for (const file of manifest.files) {
    const found = contents.files.get(file.path)
    if (!found) throw new BackupError(`the archive is incomplete: ${file.path} is missing`)
    if (found.size !== file.size || found.sha256 !== file.sha256) {
      throw new BackupError(`the archive is damaged: ${file.path} does not match its checksum`)
    }
  }
  for (const path of contents.files.keys()) {
    if (path !== MANIFEST_PATH && !listed.has(path))
      throw new BackupError(`the archive holds ${path}, which its manifest does not list`)
  }
  const kind = config.databaseUrl ? 'postgres' : 'sqlite'
  if (manifest.database !== kind) {
    throw new BackupError(
      `the backup holds a ${manifest.database} database, but this configuration uses ${kind}` +
        (kind === 'sqlite' ? ' (set DATABASE_URL to an empty PostgreSQL database)' : ' (unset DATABASE_URL)'),
    )
  }
  const snapshot = kind === 'sqlite' ? SQLITE_SNAPSHOT_PATH : POSTGRES_DUMP_PATH
  if (!listed.has(snapshot)) throw new BackupError(`the archive is incomplete: ${snapshot} is missing`)
  if (!KNOWN_MIGRATIONS.includes(manifest.schema_version)) {
    const newer = manifest.schema_version > LATEST_MIGRATION
    throw new BackupError(
      newer
        ? `the backup's schema ${manifest.schema_version} is newer than this Lectern's (${LATEST_MIGRATION}): restore it with the Lectern that made it`
        : `the backup's schema ${JSON.stringify(manifest.schema_version)} is not one this Lectern knows`,
    )
  }
}

/**
 * DATA_DIR built whole in a hidden folder inside it, then its entries moved up one by one (a
 * rename each, on the same file system): the service user may own DATA_DIR without being able to
 * write beside it. DATA_DIR was empty, so on any failure it is emptied again (and removed if this
 * created it): nothing changed. Folders 0700, files 0600, whatever the archive or the umask say.
 */
async function writeDataDir(config: Config, staging: string, contents: ArchiveContents): Promise<void> {
  const { dataDir } = config
  const created = await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE })
  const building = await mkdtemp(join(dataDir, '.restoring-'))
  const moved: string[] = []
  try {
    const prefix = `${DATA_FOLDER}/`
    const folders = contents.folders.filter((path) => path.startsWith(prefix)).sort()
    for (const folder of folders) {
      await mkdir(join(building, folder.slice(prefix.length)), { recursive: true, mode: PRIVATE_DIR_MODE })
      await chmod(join(building, folder.slice(prefix.length)), PRIVATE_DIR_MODE)
    }
    const files = [...contents.files.keys()].filter((path) => path.startsWith(prefix))
    if (!config.databaseUrl) files.push(SQLITE_SNAPSHOT_PATH)
    for (const path of files) {
      const destination =
        path === SQLITE_SNAPSHOT_PATH ? join(building, SQLITE_FILE_NAME) : join(building, path.slice(prefix.length))
      await mkdir(dirname(destination), { recursive: true, mode: PRIVATE_DIR_MODE })
      await copyFile(join(staging, path), destination)
      await chmod(destination, PRIVATE_FILE_MODE)
    }
    // Something else appeared in DATA_DIR meanwhile: it is not ours to overwrite.
    const others = (await readdir(dataDir)).filter((name) => name !== basename(building))
    if (others.length > 0) {
      throw new BackupError(`DATA_DIR ${dataDir} is not empty: restore only into an empty (or new) DATA_DIR`)
    }
    for (const name of await readdir(building)) {
      await rename(join(building, name), join(dataDir, name))
      moved.push(name)
    }
    await rmdir(building)
    await chmod(dataDir, PRIVATE_DIR_MODE)
  } catch (error) {
    for (const name of moved) await rm(join(dataDir, name), { recursive: true, force: true })
    await rm(building, { recursive: true, force: true })
    if (created !== undefined) await rm(created, { recursive: true, force: true }) // the folders this made
    throw error
  }
}

/**
 * `bin/lectern restore FILE` (CONTRACT §16): the target is checked empty, the whole archive is
 * read and verified, and only then is anything written — the PostgreSQL dump in one transaction,
 * then DATA_DIR in one rename.
 */
export async function restoreBackup(config: Config, archive: string, opts: { env: Env }): Promise<Manifest> {
  const archiveOk = await lstat(archive).then(
    (stats) => stats.isFile(),
    () => false,
  )
  if (!archiveOk) throw new BackupError(`${archive} is not a file`)
  await requireEmptyTarget(config)
  const staging = await mkdtemp(join(tmpdir(), 'lectern-restore-')) // 0700: it holds password hashes
  try {
    const contents = await readArchive(archive, staging)
    if (!contents.files.has(MANIFEST_PATH))
      throw new BackupError('the archive is not a Lectern backup: it has no manifest.json')
    const manifest = parseManifest(await readFile(join(staging, MANIFEST_PATH), 'utf8'))
    verify(manifest, contents, config)
    await requireEmptyTarget(config)
    if (!config.databaseUrl) {
      await writeDataDir(config, staging, contents)
      return manifest
    }
    await restorePostgres(config.databaseUrl, join(staging, POSTGRES_DUMP_PATH), opts.env)
    try {
      await writeDataDir(config, staging, contents)
    } catch (error) {
      // The database is no longer empty: whatever refused DATA_DIR, something was changed, and a
      // second try is refused until the database is emptied. Said so, never as a refusal (exit 2).
      throw new Error(
        `the PostgreSQL database of DATABASE_URL was restored, but DATA_DIR was not (${(error as Error).message}); ` +
          'empty the database (drop and create it) and DATA_DIR before trying again',
        { cause: error },
      )
    }
    return manifest
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
