import { constants } from 'node:fs'
import { open, readdir, realpath, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { ContentKind } from '../catalog/content-kind.ts'
import {
  BODY_MAX_CHARS,
  DESCRIPTION_MAX_CHARS,
  isSlug,
  MAX_PARTS,
  normalizeDescription,
  normalizeMarkdown,
  normalizeTitle,
  textProblem,
  TITLE_MAX_CHARS,
} from '../catalog/fields.ts'
import { FrontMatterError, parseFrontMatter } from './front-matter.ts'
import type { MarkdownRenderer } from '../catalog/rendering/markdown.ts'
import { ContentTooComplexError } from '../catalog/rendering/render-pool.ts'
import { parseLessonQuiz, parsePassPercent, QuizSyntaxError, type Quiz } from '../quizzes/quiz-parser.ts'

/** What a course or ebook folder holds, checked and ready to store (docs/content.md). */
export interface ContentFolder {
  kind: ContentKind
  slug: string
  title: string
  description: string
  /** From front matter `published`; null when not given (new: published; existing: unchanged). */
  published: boolean | null
  /** A course's front matter `pass_percent` (1..100); null when not given: the default (80). */
  passPercent: number | null
  parts: ContentFolderPart[]
  /** The folder's real path: images are read from inside it (folder-images.ts). */
  root: string
}

export interface ContentFolderPart {
  /** The file's number: the order. */
  number: number
  /**
   * The file's name without its number (`intro` for `01-intro.md`): what identifies a lesson
   * across re-imports, so renumbering files keeps learners' progress.
   */
  key: string
  file: string
  title: string
  markdown: string
  /** A lesson's quiz block, parsed (CONTRACT §12); always null for a chapter. */
  quiz: Quiz | null
  /** The whole file as read, front matter included: where an image reference's line is found. */
  source: string
}

/** Everything wrong with a folder, each problem on its own line, so one run shows them all. */
export class ContentFolderError extends Error {
  readonly folder: string
  readonly problems: string[]

  constructor(folder: string, problems: string[]) {
    super(`${folder}: ${problems.join('; ')}`)
    this.folder = folder
    this.problems = problems
    this.name = 'ContentFolderError'
  }
}

const MANIFESTS: Record<string, ContentKind> = { 'course.md': 'course', 'ebook.md': 'ebook' }
const MANIFEST_KEYS: Record<ContentKind, ReadonlySet<string>> = {
  course: new Set(['title', 'slug', 'description', 'published', 'pass_percent']),
  ebook: new Set(['title', 'slug', 'description', 'published']),
}
const PART_KEYS = new Set(['title'])
const NUMBERED = /^(\d{1,6})(?:[-_](.+))?\.md$/i
/** Files people keep beside content that are not content. */
const IGNORED_MARKDOWN = new Set(['readme.md', 'license.md', 'notes.md'])
const MAX_FILE_BYTES = 1024 * 1024
const PART_NAME: Record<ContentKind, string> = { course: 'lesson', ebook: 'chapter' }

/**
 * A link in a content folder could publish any file the importing user can read (`01-intro.md`
 * → `/srv/app/.env`), so none is followed, even one pointing inside the folder: that would need
 * its target resolved and judged, and the folder can change between that check and the read.
 */
const SYMBOLIC_LINK = 'is a symbolic link (links are not followed: copy the file or folder in instead)'

const IO_PROBLEMS: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'is not a folder',
  // Files are opened with O_NOFOLLOW, so ELOOP means the name itself is a link.
  ELOOP: SYMBOLIC_LINK,
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

async function readText(path: string): Promise<string> {
  // O_NOFOLLOW: a file swapped for a link after the folder was listed is still not followed.
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  let bytes: Buffer
  try {
    // The checks are on the opened file, so nothing can change between them and the read.
    const info = await file.stat()
    if (info.isDirectory()) throw new Error(`cannot read: ${IO_PROBLEMS.EISDIR}`)
    if (!info.isFile()) throw new Error('cannot read: not a regular file')
    if (info.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`)
    bytes = await file.readFile()
  } finally {
    await file.close()
  }
  if (bytes.length > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`)
  try {
    return utf8.decode(bytes)
  } catch {
    throw new Error('not valid UTF-8 text')
  }
}

/** "cannot read: permission denied", not a stack trace or a bare errno code. */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  if (code === undefined) return error.message
  return `cannot read: ${IO_PROBLEMS[code] ?? code}`
}

function parseBoolean(value: string): boolean | undefined {
  const normal = value.trim().toLowerCase()
  if (normal === 'true' || normal === 'yes') return true
  if (normal === 'false' || normal === 'no') return false
  return undefined
}

/**
 * Reads and checks a course or ebook folder: `course.md` or `ebook.md` with front matter
 * (title, slug, description, optional published), and numbered Markdown files, one lesson or
 * chapter each. Throws ContentFolderError listing every problem found.
 */
export async function readContentFolder(
  folder: string,
  markdown: Pick<MarkdownRenderer, 'splitTitle'>,
): Promise<ContentFolder> {
  let entries: string[]
  const problems: string[] = []
  try {
    // The folder itself may be reached through a link (the operator named it); resolved once
    // here, everything read afterwards is inside it, and links inside it are refused.
    folder = await realpath(folder)
    if (!(await stat(folder)).isDirectory()) throw new ContentFolderError(folder, ['not a folder'])
    const listing = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))
    // Every link is refused, files and sub-folders alike, whether or not the import reads it.
    for (const entry of listing) if (entry.isSymbolicLink()) problems.push(`${entry.name}: ${SYMBOLIC_LINK}`)
    entries = listing.filter((entry) => !entry.isSymbolicLink()).map((entry) => entry.name)
  } catch (error) {
    if (error instanceof ContentFolderError) throw error
    throw new ContentFolderError(folder, [reason(error).replace('cannot read', 'cannot open the folder')])
  }

  const manifests = entries.filter((name) => Object.hasOwn(MANIFESTS, name.toLowerCase()))
  if (manifests.length === 0)
    throw new ContentFolderError(folder, [...problems, 'no course.md or ebook.md in this folder'])
  if (manifests.length > 1)
    throw new ContentFolderError(folder, [
      ...problems,
      `${manifests.join(' and ')}: a folder holds one course or one ebook`,
    ])
  const manifestFile = manifests[0]!
  const kind = MANIFESTS[manifestFile.toLowerCase()]!
  const partName = PART_NAME[kind]

  const meta = {
    slug: '',
    title: '',
    description: '',
    published: null as boolean | null,
    passPercent: null as number | null,
  }
  try {
    const front = parseFrontMatter(await readText(join(folder, manifestFile)))
    if (!front.present) {
      problems.push(`${manifestFile}: missing front matter (a --- block with title, slug and description)`)
    } else {
      for (const key of Object.keys(front.data)) {
        if (!MANIFEST_KEYS[kind].has(key)) problems.push(`${manifestFile}: unknown front matter key "${key}"`)
      }
      const { title = '', slug = '', description = '', published, pass_percent: passPercent } = front.data
      meta.title = normalizeTitle(title)
      meta.slug = slug.trim()
      meta.description = normalizeDescription(description)
      if (meta.title === '') problems.push(`${manifestFile}: front matter needs a title`)
      const titleProblem = textProblem('title', meta.title, { maxChars: TITLE_MAX_CHARS, required: false })
      if (titleProblem) problems.push(`${manifestFile}: ${titleProblem}`)
      if (meta.slug === '') problems.push(`${manifestFile}: front matter needs a slug`)
      else if (!isSlug(meta.slug))
        problems.push(
          `${manifestFile}: slug "${meta.slug}" must be lower-case letters, digits and single hyphens (at most 64)`,
        )
      const descriptionProblem = textProblem('description', meta.description, {
        maxChars: DESCRIPTION_MAX_CHARS,
        required: false,
      })
      if (descriptionProblem) problems.push(`${manifestFile}: ${descriptionProblem}`)
      if (published !== undefined) {
        meta.published = parseBoolean(published) ?? null
        if (meta.published === null) problems.push(`${manifestFile}: published must be true or false`)
      }
      if (passPercent !== undefined && kind === 'course') {
        const parsed = parsePassPercent(passPercent)
        if (typeof parsed === 'string') problems.push(`${manifestFile}: ${parsed}`)
        else meta.passPercent = parsed
      }
    }
  } catch (error) {
    problems.push(
      `${manifestFile}: ${error instanceof FrontMatterError ? `front matter ${error.message}` : reason(error)}`,
    )
  }

  const parts: ContentFolderPart[] = []
  const byNumber = new Map<number, string>()
  const byKey = new Map<string, string>()
  for (const file of entries) {
    if (!file.toLowerCase().endsWith('.md') || file === manifestFile || IGNORED_MARKDOWN.has(file.toLowerCase()))
      continue
    const numbered = NUMBERED.exec(file)
    if (!numbered) {
      problems.push(`${file}: not numbered (${partName} files are named like 01-intro.md)`)
      continue
    }
    const number = Number(numbered[1])
    const key = (numbered[2] ?? numbered[1]!).toLowerCase()
    const sameNumber = byNumber.get(number)
    if (sameNumber) problems.push(`${sameNumber} and ${file} have the same number ${number}`)
    byNumber.set(number, file)
    const sameKey = byKey.get(key)
    if (sameKey)
      problems.push(`${sameKey} and ${file} have the same name "${key}" (names identify ${partName}s across imports)`)
    byKey.set(key, file)

    let text: string
    try {
      text = await readText(join(folder, file))
    } catch (error) {
      problems.push(`${file}: ${reason(error)}`)
      continue
    }
    let front
    try {
      front = parseFrontMatter(text)
    } catch (error) {
      problems.push(`${file}: front matter ${(error as Error).message}`)
      continue
    }
    for (const unknown of Object.keys(front.data).filter((k) => !PART_KEYS.has(k))) {
      problems.push(`${file}: unknown front matter key "${unknown}" (only title)`)
    }
    const split = markdown.splitTitle(front.body)
    const givenTitle = normalizeTitle(front.data.title ?? '')
    const title = givenTitle || normalizeTitle(split.title ?? '')
    // A heading that only repeats the front matter title is not body text either.
    const body = normalizeMarkdown(givenTitle && split.title !== givenTitle ? front.body : split.body)
    if (!title) {
      problems.push(`${file}: no title (start with a "# heading" or give front matter "title:")`)
      continue
    }
    const titleProblem = textProblem('title', title, { maxChars: TITLE_MAX_CHARS, required: true })
    if (titleProblem) problems.push(`${file}: ${titleProblem}`)
    if (body.length > BODY_MAX_CHARS) problems.push(`${file}: longer than ${BODY_MAX_CHARS} characters`)
    let quiz: Quiz | null = null
    if (kind === 'course') {
      try {
        // Parsed in the text after the front matter, so its lines count from the file's first line.
        quiz = parseLessonQuiz(front.body).quiz
      } catch (error) {
        if (!(error instanceof QuizSyntaxError)) throw error
        const frontMatterLines = text.replace(/\r\n?/g, '\n').split('\n').length - front.body.split('\n').length
        problems.push(`${file}:${error.line + frontMatterLines}: quiz: ${error.problem}`)
      }
    }
    parts.push({ number, key, file: basename(file), title, markdown: body.trim() + '\n', quiz, source: text })
  }

  if (byNumber.size === 0) problems.push(`no numbered ${partName} files (01-intro.md, 02-….md, …)`)
  if (byNumber.size > MAX_PARTS) problems.push(`more than ${MAX_PARTS} ${partName}s`)
  if (problems.length > 0) throw new ContentFolderError(folder, problems)

  parts.sort((a, b) => a.number - b.number)
  return { kind, ...meta, parts, root: folder }
}

/**
 * Renders every part of a checked folder under the renderer's budget, so an import stores
 * nothing that readers would be refused (docs/adr/0016). Throws ContentFolderError naming each
 * part too complex to render.
 */
export async function refuseUnrenderableParts(
  path: string,
  folder: ContentFolder,
  markdown: Pick<MarkdownRenderer, 'render'>,
): Promise<void> {
  const problems: string[] = []
  for (const part of folder.parts) {
    try {
      await markdown.render(part.markdown)
    } catch (error) {
      if (!(error instanceof ContentTooComplexError)) throw error
      problems.push(`${part.file}: too complex to render (${error.message}); simplify its nesting or split it`)
    }
  }
  if (problems.length > 0) throw new ContentFolderError(path, problems)
}
