import { readdir, stat } from 'node:fs/promises'
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
    for (const name of names.filter((n) => n.endsWith(BACKUP_SUFFIX))) {
      const stats = await stat(join(config.backupDir, name)).catch(() => null)
      if (stats?.isFile()) newestMs = Math.max(newestMs, stats.mtimeMs)
    }
    if (newestMs === -Infinity) return problem(`no backup (*${BACKUP_SUFFIX}) in BACKUP_DIR ${config.backupDir}`)
    const ageHours = Math.floor((now().getTime() - newestMs) / (60 * 60 * 1000))
    if (now().getTime() - newestMs > DAY_MS) return problem(`the newest backup is ${ageHours} hours old`)
    return ok(`the newest backup is ${ageHours} hours old`)
  },
}
