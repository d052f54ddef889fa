import { open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ok, problem, type DoctorCheck } from '../types.ts'

const DAY_MS = 24 * 60 * 60 * 1000
export const BACKUP_SUFFIX = '.tar.gz'

/** The newest archive in BACKUP_DIR is younger than a day: a lost disk loses a day at most. */
export const backupsCheck: DoctorCheck = {
  name: 'backups',
  level: 'WARN',
  fix: 'run bin/lectern backup BACKUP_DIR/lectern-$(date +%F).tar.gz daily (docs/deployment.md, "Backups")',
  scope: 'any',
  async run({ config, now }) {
    if (config.backupDir === null) {
      return problem('BACKUP_DIR is not set: no backup can be checked', {
        fix: 'set BACKUP_DIR to where the daily backups are written',
      })
    }
    let names: string[]
    try {
      names = await readdir(config.backupDir)
    } catch (error) {
      return problem(`BACKUP_DIR ${config.backupDir} cannot be read: ${(error as NodeJS.ErrnoException).code}`)
    }
    let newestMs = -Infinity
    let notArchives = 0
    // A dot-file is a backup still being written (or one interrupted): not a backup yet.
    for (const name of names.filter((n) => n.endsWith(BACKUP_SUFFIX) && !n.startsWith('.'))) {
      const archive = await gzipFileTime(join(config.backupDir, name))
      if (archive === 'not_gzip') notArchives++
      else if (archive !== null) newestMs = Math.max(newestMs, archive)
    }
    const ignored = notArchives > 0 ? ` (${notArchives} file(s) named like backups are empty or not gzip, ignored)` : ''
    if (newestMs === -Infinity) {
      return problem(`no backup (*${BACKUP_SUFFIX}) in BACKUP_DIR ${config.backupDir}${ignored}`)
    }
    const ageHours = Math.floor((now().getTime() - newestMs) / (60 * 60 * 1000))
    if (now().getTime() - newestMs > DAY_MS) return problem(`the newest backup is ${ageHours} hours old${ignored}`)
    if (notArchives > 0) return problem(`the newest backup is ${ageHours} hours old${ignored}`)
    return ok(`the newest backup is ${ageHours} hours old`)
  },
}

const GZIP_MAGIC = [0x1f, 0x8b]

/**
 * A regular file's modification time when it starts as gzip does; `not_gzip` for an empty or
 * other file (a failed copy, a truncated job: a backup in name only); null when it is no file.
 * Only the first two bytes are read: `restore` is what verifies a whole archive.
 */
async function gzipFileTime(path: string): Promise<number | 'not_gzip' | null> {
  const handle = await open(path, 'r').catch(() => null)
  if (handle === null) return null
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) return null
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? stats.mtimeMs : 'not_gzip'
  } finally {
    await handle.close()
  }
}
