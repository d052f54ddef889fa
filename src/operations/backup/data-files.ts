import { lstat, readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { SQLITE_FILE_NAME } from '../../db/database.ts'

/** The live database and its journals: the snapshot stands for them (a copy could be torn). */
const LIVE_DATABASE_NAMES = new Set(['', '-wal', '-shm', '-journal'].map((suffix) => `${SQLITE_FILE_NAME}${suffix}`))

/**
 * A file still being written (`.NAME.tmp`, renamed to NAME once whole, as the outbox does): the
 * finished file is what counts, and a half-written one must not come back from a restore.
 */
const isInFlight = (name: string) => name.startsWith('.') && name.endsWith('.tmp')

export interface DataDirContents {
  /** Relative, `/`-separated paths of the folders, parents first. */
  folders: string[]
  /** Relative, `/`-separated paths of the regular files. */
  files: string[]
  /** What was left out because it is neither a regular file nor a folder (links, sockets…). */
  skipped: string[]
}

/**
 * Everything Lectern keeps in DATA_DIR but the live database: the session secret, the outbox,
 * whatever files a module keeps there. Symbolic links are never followed (they could lead out of
 * DATA_DIR) and neither are they copied. `excluded(path)` leaves out what must not be in a backup:
 * the log files, the archive being written, backups kept inside DATA_DIR.
 */
export async function listDataDir(
  dataDir: string,
  excluded: (absolutePath: string) => boolean,
): Promise<DataDirContents> {
  const contents: DataDirContents = { folders: [], files: [], skipped: [] }
  const toPosix = (path: string) => relative(dataDir, path).split(sep).join('/')
  async function walk(folder: string, top: boolean): Promise<void> {
    const names = (await readdir(folder)).sort()
    for (const name of names) {
      const path = join(folder, name)
      if ((top && LIVE_DATABASE_NAMES.has(name)) || isInFlight(name) || excluded(path)) continue
      const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null // gone since the folder was read: nothing to keep
        throw error
      })
      if (stats === null) continue
      if (stats.isDirectory()) {
        contents.folders.push(toPosix(path))
        await walk(path, false)
      } else if (stats.isFile()) {
        contents.files.push(toPosix(path))
      } else {
        contents.skipped.push(toPosix(path))
      }
    }
  }
  try {
    await walk(dataDir, true)
  } catch (error) {
    // With PostgreSQL and SESSION_SECRET set, DATA_DIR may never have been made: nothing to keep.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || contents.folders.length + contents.files.length > 0) {
      throw error
    }
  }
  return contents
}
