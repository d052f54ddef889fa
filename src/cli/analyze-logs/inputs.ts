import { constants } from 'node:fs'
import { access, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { classifyLogFileName, compareLogFileNames } from './log-file-names.ts'

export type LogInput = { kind: 'stdin'; name: string } | { kind: 'file'; path: string; name: string }

/** An input that cannot be read: the command stops with exit status 2 and this message. */
export class InputError extends Error {}

/**
 * Operands → the inputs to read, in order, every one checked readable before any is read,
 * so a typo fails fast instead of after minutes of work. No operand means standard input.
 * A file named twice (or also found in a named directory) is read once.
 */
export async function resolveInputs(operands: readonly string[]): Promise<LogInput[]> {
  if (operands.length === 0) return [{ kind: 'stdin', name: 'standard input' }]
  const inputs: LogInput[] = []
  const seen = new Set<string>()
  const addFile = async (path: string) => {
    const absolute = resolve(path)
    if (seen.has(absolute)) return
    seen.add(absolute)
    await checkReadable(path)
    inputs.push({ kind: 'file', path, name: path })
  }
  for (const operand of operands) {
    if (operand === '-') {
      inputs.push({ kind: 'stdin', name: 'standard input' })
      continue
    }
    const info = await stat(operand).catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`cannot read "${operand}": ${describe(error)}`)
    })
    if (info.isDirectory()) {
      const files = await logFilesIn(operand)
      if (files.length === 0)
        throw new InputError(
          `no log files (*.log, *.jsonl, *.ndjson, their rotated names, optionally .gz) in directory "${operand}"`,
        )
      for (const file of files) await addFile(file)
    } else {
      await addFile(operand)
    }
  }
  return inputs
}

async function checkReadable(path: string): Promise<void> {
  await access(path, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read "${path}": ${describe(error)}`)
  })
}

/**
 * A directory's log files (log-file-names.ts), oldest lines first. Only regular files: a
 * symbolic link is followed, and taken when it leads to one, so a link to a FIFO or a device
 * can never block or flood the run; named on the command line, such a file is still read.
 */
export async function logFilesIn(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read directory "${directory}": ${describe(error)}`)
  })
  const names: string[] = []
  for (const entry of entries) {
    if (classifyLogFileName(entry.name) === null) continue
    if (entry.isFile() || (entry.isSymbolicLink() && (await leadsToRegularFile(join(directory, entry.name)))))
      names.push(entry.name)
  }
  return names.sort(compareLogFileNames).map((name) => join(directory, name))
}

async function leadsToRegularFile(path: string): Promise<boolean> {
  // A dangling link is left to checkReadable, which names it, rather than skipped in silence.
  return stat(path).then(
    (info) => info.isFile(),
    () => true,
  )
}

function describe(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file or directory'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOTDIR':
      return 'a part of the path is not a directory'
    default:
      return error.message
  }
}

export { describe as describeFileError }
// Where it was first defined; the naming rules now live in log-file-names.ts.
export { compareLogFileNames } from './log-file-names.ts'
