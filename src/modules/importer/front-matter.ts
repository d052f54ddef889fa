/**
 * The `---` block at the top of a Markdown file, as flat `key: value` strings.
 *
 * Deliberately tiny instead of a YAML loader: the importer needs a handful of strings, and a
 * full YAML parser brings tags, anchors and type coercion (`no` → false, `1e3` → 1000) that a
 * content file has no use for. Anything beyond `key: value` is an error, not a guess.
 */
export interface FrontMatter {
  /** Whether the file had a front matter block at all. */
  present: boolean
  data: Record<string, string>
  /** The Markdown after the block (the whole file when there is none). */
  body: string
}

export class FrontMatterError extends Error {}

const FENCE = /^---[ \t]*$/
const CLOSING_FENCE = /^(---|\.\.\.)[ \t]*$/
const KEY_VALUE = /^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$/

function unquote(raw: string, lineNumber: number): string {
  const value = raw.trim()
  if (value.startsWith('"')) {
    try {
      // JSON's string grammar is a safe subset of YAML's double-quoted strings.
      const parsed: unknown = JSON.parse(value)
      if (typeof parsed === 'string') return parsed
    } catch {
      // reported below
    }
    throw new FrontMatterError(`line ${lineNumber}: unterminated or invalid double-quoted value`)
  }
  if (value.startsWith("'")) {
    if (value.length < 2 || !value.endsWith("'")) {
      throw new FrontMatterError(`line ${lineNumber}: unterminated single-quoted value`)
    }
    return value.slice(1, -1).replaceAll("''", "'")
  }
  return value
}

export function parseFrontMatter(text: string): FrontMatter {
  const lines = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
  if (!FENCE.test(lines[0] ?? '')) return { present: false, data: {}, body: lines.join('\n') }

  const end = lines.findIndex((line, index) => index > 0 && CLOSING_FENCE.test(line))
  if (end === -1) throw new FrontMatterError('has no closing --- line')

  // No prototype: a key named __proto__ is just a key.
  const data: Record<string, string> = Object.create(null) as Record<string, string>
  for (let index = 1; index < end; index++) {
    const line = lines[index]!
    const lineNumber = index + 1
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue
    const match = KEY_VALUE.exec(line)
    if (!match) throw new FrontMatterError(`line ${lineNumber}: expected "key: value", found "${line.trim()}"`)
    const key = match[1]!
    if (Object.hasOwn(data, key)) throw new FrontMatterError(`line ${lineNumber}: "${key}" is given twice`)
    data[key] = unquote(match[2] ?? '', lineNumber)
  }
  return { present: true, data, body: lines.slice(end + 1).join('\n') }
}
