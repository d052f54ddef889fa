import { lstat } from 'node:fs/promises'
import { modeText } from '../../lib/private-files.ts'
import { ok, problem, type Outcome } from './types.ts'

/**
 * Whether `path` is private: no permission for group or others beyond `maxMode`, owned by `uid`,
 * and not a symbolic link (whose target could be anywhere). A missing path is `missing`'s outcome.
 */
export async function privacyOf(
  path: string,
  opts: { what: string; maxMode: number; uid: number | null; kind: 'file' | 'directory'; missing: Outcome },
): Promise<Outcome> {
  let stats
  try {
    stats = await lstat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return opts.missing
    return problem(`${opts.what} ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (stats.isSymbolicLink()) return problem(`${opts.what} ${path} is a symbolic link`)
  if (opts.kind === 'directory' ? !stats.isDirectory() : !stats.isFile()) {
    return problem(`${opts.what} ${path} is not a ${opts.kind}`)
  }
  const mode = stats.mode & 0o777
  if ((mode & ~opts.maxMode) !== 0) {
    return problem(`${opts.what} ${path} has mode ${modeText(mode)}, others may read it`, {
      fix: `chmod ${modeText(mode & opts.maxMode)} ${path} (serve does this at start-up)`,
    })
  }
  if (opts.uid !== null && stats.uid !== opts.uid) {
    return problem(`${opts.what} ${path} belongs to user ${stats.uid}, not to the user Lectern runs as (${opts.uid})`, {
      fix: `chown ${opts.uid} ${path}, or run Lectern as its owner`,
    })
  }
  return ok(`${opts.what} ${path} is private (${modeText(mode)})`)
}
