/**
 * CSV of RFC 4180 (CRLF line ends; a field holding a quote, comma, CR or LF is quoted, its quotes
 * doubled), safe to open in a spreadsheet: a cell that starts with = + - @, a tab or a CR would be
 * taken for a formula (OWASP "CSV injection"), so it gets a leading apostrophe. Every export
 * (the audit trail, learner reports) writes its cells here: they hold what users typed.
 */
const FORMULA_START = /^[=+\-@\t\r]/
const NEEDS_QUOTES = /[",\r\n]/

export function csvCell(value: string | number | null): string {
  if (value === null) return ''
  let text = String(value)
  if (FORMULA_START.test(text)) text = `'${text}`
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvLine(values: ReadonlyArray<string | number | null>): string {
  return `${values.map(csvCell).join(',')}\r\n`
}
