/**
 * Limits shared by the API schemas and the importer, so a course that imports also saves
 * through the API and the other way round.
 */
export const SLUG_MAX_CHARS = 64
/** Lower-case words joined by single hyphens: safe in a URL path, no encoding, no look-alikes. */
export const SLUG_PATTERN = '^[a-z0-9]+(?:-[a-z0-9]+)*$'
export const TITLE_MAX_CHARS = 200
export const DESCRIPTION_MAX_CHARS = 2000
/** A lesson or chapter of Markdown; far beyond any real one, and well under the 1 MiB JSON body limit. */
export const BODY_MAX_CHARS = 500_000
/** Lessons in a course, chapters in an ebook. */
export const MAX_PARTS = 500

export function isSlug(value: string): boolean {
  return value.length <= SLUG_MAX_CHARS && new RegExp(SLUG_PATTERN).test(value)
}

/**
 * A slug from a title: "CSS: the Box Model!" → "css-the-box-model". Accents are dropped
 * ("Café" → "cafe"); a title with no Latin letters or digits gives "" (the caller asks for one).
 */
export function slugFromTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, SLUG_MAX_CHARS)
    .replace(/^-+|-+$/g, '')
}

/** Has something other than white space: a title of spaces is no title. */
export const NON_BLANK_PATTERN = '\\S'

/** Control characters other than tab and newline, and the bidirectional overrides used to spoof text. */
// eslint-disable-next-line no-control-regex
const SPOOFING_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u

/** A title as stored: NFC, one line, runs of white space as one space. */
export function normalizeTitle(raw: string): string {
  return raw.normalize('NFC').replace(/\s+/g, ' ').trim()
}

/** A description as stored: NFC, LF line ends, trimmed. */
export function normalizeDescription(raw: string): string {
  return raw.normalize('NFC').replace(/\r\n?/g, '\n').trim()
}

/** Markdown as stored: LF line ends only; everything else is the author's. */
export function normalizeMarkdown(raw: string): string {
  return raw.replace(/\r\n?/g, '\n')
}

/** Why a normalized title or description cannot be stored, or null when it can. */
export function textProblem(
  field: string,
  value: string,
  opts: { maxChars: number; required: boolean },
): string | null {
  if (opts.required && value === '') return `${field} must not be empty`
  if ([...value].length > opts.maxChars) return `${field} must be at most ${opts.maxChars} characters`
  if (SPOOFING_CHARACTERS.test(value)) return `${field} must not contain control or bidirectional override characters`
  return null
}
