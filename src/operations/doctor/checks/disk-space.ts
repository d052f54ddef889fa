import { dirname } from 'node:path'
import { ok, problem, type DoctorCheck, type DoctorContext } from '../types.ts'

const MIB = 1024 * 1024
const GIB = 1024 * MIB
/** Below this SQLite, the logs and uploads start failing within a day of ordinary use. */
export const FAIL_BELOW_BYTES = 100 * MIB
/** Below either of these there is still room, but not for long nor for a backup. */
export const WARN_BELOW_BYTES = GIB
export const WARN_BELOW_FRACTION = 0.05

const describe = (bytes: number) =>
  bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.floor(bytes / MIB)} MiB`

/** DATA_DIR, or the nearest folder above it that exists (before the first start). */
async function statfsNearest(ctx: DoctorContext, path: string) {
  for (;;) {
    try {
      return await ctx.statfs(path)
    } catch (error) {
      const parent = dirname(path)
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) throw error
      path = parent
    }
  }
}

/** Free space where DATA_DIR is: FAIL under 100 MiB, WARN under 1 GiB or 5% of the file system. */
export const diskSpaceCheck: DoctorCheck = {
  name: 'disk-space',
  level: 'WARN',
  fix: "free space on DATA_DIR's file system (old logs, old backups) or grow it",
  scope: 'any',
  async run(ctx) {
    const stats = await statfsNearest(ctx, ctx.config.dataDir)
    // bavail: what an unprivileged process may use, not the root-reserved blocks too.
    const free = stats.bavail * stats.bsize
    const total = stats.blocks * stats.bsize
    const fraction = total > 0 ? free / total : 0
    const what = `${describe(free)} free in DATA_DIR (${(fraction * 100).toFixed(1)}% of ${describe(total)})`
    if (free < FAIL_BELOW_BYTES) return problem(what, { level: 'FAIL' })
    if (free < WARN_BELOW_BYTES || fraction < WARN_BELOW_FRACTION) return problem(what)
    return ok(what)
  },
}
