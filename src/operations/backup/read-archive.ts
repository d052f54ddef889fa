import { createReadStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { entries } from 'tar'
import { PRIVATE_DIR_MODE } from '../../lib/private-files.ts'
import { BackupError } from './errors.ts'
import { writeWithChecksum } from './hashing-copy.ts'
import { DATA_FOLDER, DATABASE_FOLDER, MANIFEST_PATH } from './manifest.ts'

/**
 * gzip cannot compress more than about 1032:1, so this never refuses a real backup (a database of
 * empty pages compresses close to that); it bounds what a crafted archive can make us write.
 */
const MAX_DECOMPRESSION_RATIO = 1100

export interface ArchiveContents {
  /** Regular files by archive path: their size and SHA-256 as read. */
  files: Map<string, { size: number; sha256: string }>
  folders: string[]
}

/**
 * Why an archive path must not be written anywhere: absolute, with a `..` step, a backslash or a
 * drive letter (which some systems read as a separator or a root), or outside the backup's layout.
 */
export function pathProblem(path: string): string | null {
  if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'an absolute path'
  if (path.includes('\\') || path.includes('\0')) return 'a path with a backslash or NUL'
  const steps = path.split('/')
  if (steps.includes('..')) return 'a path with ".."'
  if (steps.some((step) => step === '' || step === '.')) return 'a path with an empty or "." step'
  if (path !== MANIFEST_PATH && steps[0] !== DATA_FOLDER && steps[0] !== DATABASE_FOLDER)
    return 'a path outside the backup layout'
  return null
}

/**
 * Reads the whole archive into `staging`, refusing it at the first entry that is not a plain file
 * or folder (a link could point anywhere, a device is never Lectern's), at an unsafe or repeated
 * path, and at any gzip or tar damage. Nothing outside `staging` is written.
 */
export async function readArchive(archive: string, staging: string): Promise<ArchiveContents> {
  const contents: ArchiveContents = { files: new Map(), folders: [] }
  const seen = new Set<string>()
  try {
    const input = createReadStream(archive) as Readable & AsyncIterable<Uint8Array>
    for await (const entry of entries(input, { strict: true, maxDecompressionRatio: MAX_DECOMPRESSION_RATIO })) {
      const path = entry.type === 'Directory' ? entry.path.replace(/\/$/, '') : entry.path
      const problem = pathProblem(path)
      if (problem !== null) throw new BackupError(`the archive holds ${problem}: ${JSON.stringify(entry.path)}`)
      if (seen.has(path)) throw new BackupError(`the archive holds ${JSON.stringify(path)} twice`)
      seen.add(path)
      if (entry.type === 'Directory') {
        contents.folders.push(path)
        await mkdir(join(staging, path), { recursive: true, mode: PRIVATE_DIR_MODE })
      } else if (entry.type === 'File' || entry.type === 'OldFile') {
        await mkdir(dirname(join(staging, path)), { recursive: true, mode: PRIVATE_DIR_MODE })
        const written = await writeWithChecksum(
          Readable.from(entry.body as unknown as AsyncIterable<Uint8Array>),
          join(staging, path),
        )
        contents.files.set(path, written)
      } else {
        throw new BackupError(
          `the archive holds a ${entry.type} (only files and folders are restored): ${JSON.stringify(path)}`,
        )
      }
    }
  } catch (error) {
    if (error instanceof BackupError) throw error
    throw new BackupError(`the archive is damaged or not a .tar.gz: ${(error as Error).message}`)
  }
  return contents
}
