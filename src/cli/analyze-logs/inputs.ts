import { constants } from 'node:fs'
import { access, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'

export type LogInput = { kind: 'stdin'; name: string } | { kind: 'file'; path: string; name: string }

/** An input that cannot be read: the command stops with exit status 2 and this message. */
export class InputError extends Error {}

/** `lectern.log`, `lectern.2026-11-23.log`, `lectern.2026-11-23.1.log`, `lectern.2026-11-20.log.gz`, and the same for .jsonl/.ndjson. */
const LOG_FILE_NAME = /\.(?:log|jsonl|ndjson)(?:\.gz)?$/
/** The day a rotated file holds, and the attempt number rotation adds when that name was taken. */
const ROTATED_DAY = /(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\./

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
        throw new InputError(`no log files (*.log, *.jsonl, *.ndjson, optionally .gz) in directory "${operand}"`)
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

/** A directory's log files: rotated ones by the day in their names (oldest first), then live ones. */
export async function logFilesIn(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read directory "${directory}": ${describe(error)}`)
  })
  const names = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && LOG_FILE_NAME.test(e.name))
    .map((e) => e.name)
  return names.sort(compareLogFileNames).map((name) => join(directory, name))
}

export function compareLogFileNames(a: string, b: string): number {
  const dayA = ROTATED_DAY.exec(a)
  const dayB = ROTATED_DAY.exec(b)
  // The live file has no day in its name and holds the newest lines.
  if (dayA === null || dayB === null) {
    if (dayA !== dayB) return dayA === null ? 1 : -1
    return a < b ? -1 : a > b ? 1 : 0
  }
  if (dayA[1] !== dayB[1]) return (dayA[1] as string) < (dayB[1] as string) ? -1 : 1
  const attemptA = Number(dayA[2] ?? 0)
  const attemptB = Number(dayB[2] ?? 0)
  if (attemptA !== attemptB) return attemptA - attemptB
  return a < b ? -1 : a > b ? 1 : 0
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
