import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises'
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

/** DATA_DIR absent, or an empty folder (but for `ignored`); anything else is refused (a restore never merges). */
async function requireEmptyDataDir(dataDir: string, ignored: string | null = null): Promise<void> {
  let stats
  try {
    stats = await lstat(dataDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!stats.isDirectory()) throw new BackupError(`DATA_DIR ${dataDir} is not a folder`)
  if ((await readdir(dataDir)).some((name) => name !== ignored)) {
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

async function requireEmptyTarget(config: Config, ignored: string | null = null): Promise<void> {
  await requireEmptyDataDir(config.dataDir, ignored)
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
 * The archive was read into `staging`, a hidden folder inside DATA_DIR, laid out as in the archive:
 * its `data/` entries are moved up into DATA_DIR one by one (a rename each, on the same file
 * system: the service user may own DATA_DIR without being able to write beside it), the SQLite
 * snapshot as the live database. Folders 0700, files 0600, whatever the archive or the umask
 * say. `moved` records what reached DATA_DIR, for the caller to take back on a failure.
 */
async function moveIntoDataDir(
  config: Config,
  staging: string,
  contents: ArchiveContents,
  moved: string[],
): Promise<void> {
  const { dataDir } = config
  const prefix = `${DATA_FOLDER}/`
  const dataRoot = join(staging, DATA_FOLDER)
  await mkdir(dataRoot, { recursive: true, mode: PRIVATE_DIR_MODE })
  for (const folder of contents.folders.filter((path) => path.startsWith(prefix))) {
    await chmod(join(staging, folder), PRIVATE_DIR_MODE)
  }
  for (const file of [...contents.files.keys()].filter((path) => path.startsWith(prefix))) {
    await chmod(join(staging, file), PRIVATE_FILE_MODE)
  }
  if (!config.databaseUrl) {
    await chmod(join(staging, SQLITE_SNAPSHOT_PATH), PRIVATE_FILE_MODE)
    await rename(join(staging, SQLITE_SNAPSHOT_PATH), join(dataRoot, SQLITE_FILE_NAME))
  }
  // Something else appeared in DATA_DIR meanwhile: it is not ours to overwrite.
  await requireEmptyDataDir(dataDir, basename(staging))
  for (const name of await readdir(dataRoot)) {
    await rename(join(dataRoot, name), join(dataDir, name))
    moved.push(name)
  }
  await chmod(dataDir, PRIVATE_DIR_MODE)
}

/**
 * Takes back the folders this restore made, from DATA_DIR up to `topmost`, each only while empty:
 * what another process wrote into them meanwhile is not ours to delete.
 */
async function removeEmptyFolders(dataDir: string, topmost: string): Promise<void> {
  for (let folder = dataDir; ; folder = dirname(folder)) {
    try {
      await rmdir(folder)
    } catch {
      return
    }
    if (folder === topmost || dirname(folder) === folder) return
  }
}

/**
 * `bin/lectern restore FILE` (CONTRACT §16): the target is checked empty, the whole archive is
 * read and verified, and only then is anything written — the PostgreSQL dump in one transaction,
 * then DATA_DIR's entries moved into place. The archive is read into a hidden folder inside
 * DATA_DIR, never into the system's temporary folder (often a tmpfs: memory). On any failure
 * DATA_DIR is as it was: emptied again, and removed if this created it.
 */
export async function restoreBackup(config: Config, archive: string, opts: { env: Env }): Promise<Manifest> {
  const archiveOk = await lstat(archive).then(
    (stats) => stats.isFile(),
    () => false,
  )
  if (!archiveOk) throw new BackupError(`${archive} is not a file`)
  await requireEmptyTarget(config)
  const { dataDir } = config
  const created = await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE })
  const staging = await mkdtemp(join(dataDir, '.restoring-')) // 0700: it holds password hashes
  const moved: string[] = []
  let databaseRestored = false
  try {
    const contents = await readArchive(archive, staging)
    if (!contents.files.has(MANIFEST_PATH))
      throw new BackupError('the archive is not a Lectern backup: it has no manifest.json')
    const manifest = parseManifest(await readFile(join(staging, MANIFEST_PATH), 'utf8'))
    verify(manifest, contents, config)
    await requireEmptyTarget(config, basename(staging))
    if (config.databaseUrl) {
      await restorePostgres(config.databaseUrl, join(staging, POSTGRES_DUMP_PATH), opts.env)
      databaseRestored = true
    }
    await moveIntoDataDir(config, staging, contents, moved)
    return manifest
  } catch (error) {
    for (const name of moved) await rm(join(dataDir, name), { recursive: true, force: true })
    await rm(staging, { recursive: true, force: true })
    if (created !== undefined) await removeEmptyFolders(dataDir, created)
    // The database is no longer empty: whatever refused DATA_DIR, something was changed, and a
    // second try is refused until the database is emptied. Said so, never as a refusal (exit 2).
    if (databaseRestored) {
      throw new Error(
        `the PostgreSQL database of DATABASE_URL was restored, but DATA_DIR was not (${(error as Error).message}); ` +
          'empty the database (drop and create it) and DATA_DIR before trying again',
        { cause: error },
      )
    }
    throw error
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
