import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'

export const ENV_FILE_NAME = '.env'

export class EnvFileError extends Error {
  override name = 'EnvFileError'
}

type Environment = Readonly<Record<string, string | undefined>>

/**
 * The environment with the variables of `.env` in `cwd` that it does not set: the environment
 * wins, so a deployment can always override the file. A copy is returned; process.env and the
 * given object stay as they are, and config (src/config) stays a function of what it is given.
 * No file is no change; a file that cannot be read or has a line that is not NAME=value is an
 * EnvFileError naming it, since a server started without half its settings is worse than none.
 */
export function withEnvFile(env: Environment, cwd: string): Environment {
  const path = join(cwd, ENV_FILE_NAME)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return env
    throw new EnvFileError(`cannot read ${path}: ${(error as Error).message}`)
  }
  const problem = envFileProblem(text)
  if (problem) throw new EnvFileError(`${path}: ${problem}`)
  const merged: Record<string, string | undefined> = { ...parseEnv(text) }
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value
  return merged
}

const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(.*)$/
const QUOTES = ['"', "'", '`']

/**
 * The first line that is neither blank, a # comment, NAME=value, nor inside a quoted value
 * spanning lines, or whose unquoted value holds a #. Node's parser (util.parseEnv) skips such a line silently, or worse folds it
 * into the next variable's name, so a typo would quietly drop a setting.
 */
export function envFileProblem(text: string): string | null {
  const lines = text.split(/\r?\n/)
  let openQuote: string | null = null
  for (const [index, line] of lines.entries()) {
    if (openQuote !== null) {
      if (line.includes(openQuote)) openQuote = null
      continue
    }
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const assignment = ASSIGNMENT.exec(line)
    if (!assignment) return `line ${index + 1} is not NAME=value`
    const value = assignment[1]!
    const quote = QUOTES.find((q) => value.startsWith(q))
    // Unquoted, Node's parser ends the value at a # (a comment): a secret or password holding one
    // would be cut short without a word.
    if (quote === undefined && value.includes('#')) {
      return `line ${index + 1}: a value that contains # must be quoted ("...")`
    }
    if (quote !== undefined && !value.slice(1).includes(quote)) openQuote = quote
  }
  return openQuote === null ? null : `a value opened with ${openQuote} is never closed`
}
