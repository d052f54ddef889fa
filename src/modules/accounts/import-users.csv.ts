import { parse, CsvError } from 'csv-parse/sync'

/**
 * The CSV file of `lectern import-users` and of the /admin upload (CONTRACT §15), read into rows
 * that each know the line they start on, so every message can name it. Nothing here judges a
 * value: that is the import's job; this only says what the file holds.
 */

/** The most accounts one file may create: the same bound as one batch of invitations. */
export const MAX_IMPORT_ROWS = 500
/** The largest file accepted: 500 rows of long names and addresses fit with room to spare. */
export const MAX_IMPORT_BYTES = 256 * 1024

export const IMPORT_COLUMNS = ['username', 'email', 'display_name', 'role'] as const
export type ImportColumn = (typeof IMPORT_COLUMNS)[number]
const REQUIRED_COLUMNS: readonly ImportColumn[] = ['username', 'email']

export interface ImportRow {
  /** The line of the file the row starts on (the header is line 1). */
  line: number
  username: string
  email: string
  display_name: string
  role: string
}

export type CsvReading = { ok: true; rows: ImportRow[] } | { ok: false; problems: string[] }

const fail = (...problems: string[]): CsvReading => ({ ok: false, problems })

/**
 * The line each record starts on. csv-parse reports, for each record, the bytes read up to its end;
 * a record starts where the one before it ended (every record is kept, empty ones too, so none is
 * missed), and its line is one more than the line breaks before that point.
 */
function startLines(bytes: Uint8Array, ends: number[]): number[] {
  const lines: number[] = []
  let line = 1
  let at = 0
  for (const end of [0, ...ends.slice(0, -1)]) {
    for (; at < end; at++) {
      // CRLF, LF or a lone CR each end one line.
      if (bytes[at] === 0x0a || (bytes[at] === 0x0d && bytes[at + 1] !== 0x0a)) line++
    }
    lines.push(line)
  }
  return lines
}

function decode(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return null
  }
}

export function readImportCsv(bytes: Uint8Array): CsvReading {
  if (bytes.length > MAX_IMPORT_BYTES) return fail(`the file is larger than ${MAX_IMPORT_BYTES} bytes`)
  const text = decode(bytes)
  if (text === null) return fail('the file is not UTF-8 text')
  let parsed: { record: string[]; info: { bytes: number } }[]
  try {
    parsed = parse(text, {
      bom: true,
      trim: true,
      relax_column_count: true,
      info: true,
      // With info, each record comes as { record, info } (the types do not follow the options).
    }) as unknown as typeof parsed
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines
      return fail(`line ${line ?? '?'}: ${error.message.replace(/ at line \d+$/, '').replace(/^[^:]*: /, '')}`)
    }
    throw error
  }
  // Offsets into the text as parsed (the decoder has already dropped a BOM).
  const lines = startLines(
    Buffer.from(text, 'utf8'),
    parsed.map(({ info }) => info.bytes),
  )
  // Empty lines, and rows of empty cells only (",,,"), are no rows.
  const records = parsed
    .map(({ record }, index) => ({ record, line: lines[index]! }))
    .filter(({ record }) => record.some((cell) => cell !== ''))
  const [header, ...body] = records
  if (!header) return fail('the file is empty: a header row (username,email,display_name,role) comes first')

  const headerLine = header.line
  const names = header.record.map((name) => name.toLowerCase())
  const problems: string[] = []
  const seen = new Set<string>()
  for (const name of names) {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(name)) {
      problems.push(`line ${headerLine}: unknown column "${name}" (the columns are ${IMPORT_COLUMNS.join(', ')})`)
    } else if (seen.has(name)) {
      problems.push(`line ${headerLine}: column "${name}" appears twice`)
    }
    seen.add(name)
  }
  for (const name of REQUIRED_COLUMNS) {
    if (!seen.has(name)) problems.push(`line ${headerLine}: the header has no "${name}" column`)
  }
  if (problems.length > 0) return { ok: false, problems }
  if (body.length > MAX_IMPORT_ROWS) return fail(`the file has more than ${MAX_IMPORT_ROWS} rows: split it`)

  const rows: ImportRow[] = []
  for (const { record, line } of body) {
    if (record.length > names.length) {
      problems.push(`line ${line}: ${record.length} fields, but the header names ${names.length}`)
      continue
    }
    const cell = (column: ImportColumn) => {
      const at = names.indexOf(column)
      return at === -1 ? '' : (record[at] ?? '')
    }
    rows.push({
      line,
      username: cell('username'),
      email: cell('email'),
      display_name: cell('display_name'),
      role: cell('role'),
    })
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rows }
}
