import { constants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { ImageRejectedError } from '../../images/index.ts'
import type { Clock } from '../../lib/clock.ts'
import { imageSources, normalizeLinkDestination } from '../catalog/rendering/markdown.ts'
import { createMediaRepository } from '../media/media.repository.ts'
import { mediaUrl, MEDIA_URL_PATTERN, type StoredMediaType } from '../media/media-url.ts'
import { prepareMedia } from '../media/media.service.ts'
import type { ImageProcessor } from '../../images/index.ts'
import { ContentFolderError, type ContentFolder } from './folder.ts'

/** A URL with a scheme (`https:`, `data:`…) or a protocol-relative one: not a file of the folder. */
const NOT_A_FILE = /^(?:[A-Za-z][A-Za-z0-9+.-]*:|\/\/)/

/** A place in the folder's Markdown that shows an image. */
interface Reference {
  file: string
  line: number
}

/** An image file of the folder, checked, re-encoded and ready to store. */
export interface FolderMedia {
  path: string
  sha256: string
  contentType: StoredMediaType
  data: Buffer
  width: number
  height: number
  url: string
}

/** The line (1-based) of the file where `src` is first written, or the block's line as a fallback. */
function lineOf(source: string, src: string, blockLine: number): number {
  const lines = source.split('\n')
  const spellings = [src, safeDecode(src) ?? src]
  const index = lines.findIndex((line) => spellings.some((spelling) => line.includes(spelling)))
  return index === -1 ? blockLine + 1 : index + 1
}

function safeDecode(src: string): string | null {
  try {
    return decodeURIComponent(src)
  } catch {
    return null
  }
}

const where = (ref: Reference) => `${ref.file} line ${ref.line}`

/**
 * Reads one image file of the folder, never outside it: the path must be relative, must stay
 * inside the folder once resolved, and no part of the way may be a symbolic link (checked with
 * lstat, then opened with O_NOFOLLOW so the file cannot be swapped for a link in between).
 */
async function readInside(root: string, path: string, maxFileBytes: number): Promise<Buffer> {
  if (path.startsWith('/') || isAbsolute(path)) throw new Error('an absolute path (give a path relative to the folder)')
  const target = resolve(root, path)
  const inside = relative(root, target)
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new Error('outside the folder')
  }
  let current = root
  for (const segment of inside.split(sep)) {
    current = join(current, segment)
    let info
    try {
      info = await lstat(current)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new Error('not found')
      }
      throw new Error(`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
    if (info.isSymbolicLink()) throw new Error('a symbolic link (links are not followed)')
  }
  const file = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      throw new Error(
        error.code === 'ELOOP' ? 'a symbolic link (links are not followed)' : `cannot read: ${error.code}`,
      )
    },
  )
  try {
    const info = await file.stat()
    if (!info.isFile()) throw new Error('not a regular file')
    if (info.size > maxFileBytes) throw new Error(`larger than MAX_UPLOAD_BYTES (${maxFileBytes} bytes)`)
    const bytes = await file.readFile()
    if (bytes.length > maxFileBytes) throw new Error(`larger than MAX_UPLOAD_BYTES (${maxFileBytes} bytes)`)
    return bytes
  } finally {
    await file.close()
  }
}

/**
 * Every image a folder's Markdown shows by a relative path (`![Diagram](images/flow.png)`) goes
 * through the avatars' rules (format by bytes, dimensions, bombs) and is re-encoded; the Markdown
 * is rewritten to point at `/media/<id>.<ext>`, alt text kept. A path leaving the folder, a link,
 * a missing file or a refused image is a problem naming the image and where it is referenced:
 * the import stops (exit 2) and nothing is stored. Images from other sites are left as they are
 * (pages show them as links).
 */
export async function resolveFolderImages(
  folder: ContentFolder,
  deps: { processor: ImageProcessor; maxFileBytes: number },
): Promise<{ folder: ContentFolder; media: FolderMedia[] }> {
  const problems: string[] = []
  // Each file once, however many lessons show it, with every place that does.
  const references = new Map<string, Reference[]>()
  const pathOfSrc = new Map<string, string>()
  for (const part of folder.parts) {
    for (const { src, line } of imageSources(part.markdown)) {
      if (NOT_A_FILE.test(src) || MEDIA_URL_PATTERN.test(src)) continue
      const ref = { file: part.file, line: lineOf(part.source, src, line) }
      const path = safeDecode(src.split(/[?#]/, 1)[0]!)
      if (path === null || path === '') {
        problems.push(`${src} (${where(ref)}): not a file path`)
        continue
      }
      pathOfSrc.set(src, path)
      references.set(path, [...(references.get(path) ?? []), ref])
    }
  }

  const media: FolderMedia[] = []
  const urlOfPath = new Map<string, string>()
  for (const [path, refs] of references) {
    const named = `${path} (${refs.map(where).join(', ')})`
    let bytes: Buffer
    try {
      bytes = await readInside(folder.root, path, deps.maxFileBytes)
    } catch (error) {
      problems.push(`${named}: ${(error as Error).message}`)
      continue
    }
    try {
      const { image, contentType, sha256 } = await prepareMedia(deps.processor, bytes)
      const url = mediaUrl(sha256, contentType)
      urlOfPath.set(path, url)
      const { data, width, height } = image
      media.push({ path, sha256, contentType, data, width, height, url })
    } catch (error) {
      if (!(error instanceof ImageRejectedError)) throw error
      problems.push(`${named}: ${error.publicMessage}`)
    }
  }
  if (problems.length > 0) throw new ContentFolderError(folder.root, problems)

  const urlOfSrc = new Map([...pathOfSrc].map(([src, path]) => [src, urlOfPath.get(path)!]))
  const parts = folder.parts.map((part) => {
    const markdown = rewriteDestinations(part.markdown, urlOfSrc)
    for (const { src } of imageSources(markdown)) {
      if (urlOfSrc.has(src)) problems.push(`${part.file}: the image ${src} could not be pointed at its stored copy`)
    }
    return { ...part, markdown }
  })
  if (problems.length > 0) throw new ContentFolderError(folder.root, problems)
  return { folder: { ...folder, parts }, media }
}

/** `](dest` of an inline link or image, and `[label]: dest` of a reference definition. */
const DESTINATIONS = /(\]\([ \t]*)(<[^>\n]*>|[^\s)]+)|(^[ ]{0,3}\[[^\]\n]+\]:[ \t]*)(<[^>\n]*>|\S+)/gm

/** Replaces every link destination that normalizes to a key of `urls` (alt text and titles stay). */
function rewriteDestinations(markdown: string, urls: ReadonlyMap<string, string>): string {
  return markdown.replace(
    DESTINATIONS,
    (whole, inlineLead?: string, inlineDest?: string, refLead?: string, refDest?: string) => {
      const lead = inlineLead ?? refLead ?? ''
      const dest = inlineDest ?? refDest ?? ''
      const url = urls.get(normalizeLinkDestination(dest))
      return url === undefined ? whole : `${lead}${url}`
    },
  )
}

/** Stores a folder's media (inside the import's transaction): the same image twice is one row. */
export async function storeFolderMedia(db: Kysely<Database>, media: readonly FolderMedia[], clock: Clock) {
  const repository = createMediaRepository(db)
  for (const item of media) {
    await repository.store({
      sha256: item.sha256,
      content_type: item.contentType,
      data: item.data,
      width: item.width,
      height: item.height,
      created_by: null,
      created_at: clock.now(),
    })
  }
}
