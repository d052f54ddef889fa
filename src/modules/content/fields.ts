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

/** Has something other than white space: a title of spaces is no title. */
export const NON_BLANK_PATTERN = '\\S'
