import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { PRIVATE_FILE_MODE } from '../../../lib/private-files.ts'
import { InputError, describeFileError } from '../inputs.ts'

/**
 * The report holds request paths and error messages as clients sent them, and sometimes user
 * names in them: readable by its owner only, like the database (SECURITY.md). A reader who
 * should see it gets a copy, or a chmod.
 */
export const REPORT_FILE_MODE = PRIVATE_FILE_MODE

/**
 * Checked before any log is read, so a typo in the path fails in a second, not after minutes:
 * the folder must exist and be writable, and the path must not be a folder itself.
 */
export async function checkWritable(path: string): Promise<void> {
  const fail = (reason: string) => new InputError(`cannot write "${path}": ${reason}`)
  const info = await stat(path).catch(() => null)
  if (info?.isDirectory() === true) throw fail('it is a directory')
  await access(dirname(path), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw fail(describeFileError(error))
  })
}

/**
 * Writes `content` to `path` whole or not at all: into a new file beside it (created with the
 * final mode, never briefly readable by others), flushed, then renamed over the old one. A
 * reader (a browser reloading, a web server serving it) never sees half a report, and a failed
 * run leaves the previous report as it was.
 */
export async function writeFileAtomically(path: string, content: string, mode = REPORT_FILE_MODE): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const file = await open(temporary, 'wx', mode)
    try {
      await file.chmod(mode) // open's mode passes through the umask
      await file.writeFile(content)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    const code = (error as NodeJS.ErrnoException).code
    if (code === undefined) throw error
    throw new InputError(`cannot write "${path}": ${describeFileError(error as NodeJS.ErrnoException)}`)
  }
}
