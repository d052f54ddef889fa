import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Kysely } from 'kysely'
import type { Clock } from '../../lib/clock.ts'
import { readContentFolder, type ContentFolder } from './folder.ts'
import { importIntoCatalog, type ImportSummary } from './import.ts'
import { splitTitle } from '../catalog/rendering/markdown.ts'
import type { Database } from '../../db/schema.ts'
import { createImageProcessor, DEFAULT_IMAGE_LIMITS, type ImageProcessor } from '../../images/index.ts'
import { resolveFolderImages, storeFolderMedia, type FolderMedia } from './folder-images.ts'

/** The demo's own images are small; this only bounds a file replaced by mistake. */
const DEMO_IMAGE_MAX_BYTES = 5 * 1024 * 1024

/** The demo course and ebook shipped with Lectern, as import folders (docs/content.md). */
export const DEMO_CONTENT_DIR = fileURLToPath(new URL('../../../content/demo/', import.meta.url))

/** app_meta key written once the demo content has been seeded; its value is when. */
export const DEMO_SEEDED_KEY = 'demo_content_seeded'

export interface SeedResult {
  /** false when this database was seeded before (by this or another instance). */
  seeded: boolean
  imported: ImportSummary[]
}

/**
 * Seeds the demo content on a database's first start, so a new installation shows a working
 * catalogue at once. Exactly once per database, ever: the app_meta marker is written in the same
 * transaction as the content, so instances starting together seed it once, and after an admin
 * deletes the demo course nothing brings it back. A course or ebook that already has the demo's
 * slug (imported before the first start) is left alone, never overwritten.
 */
export async function seedDemoContent(deps: {
  db: Kysely<Database>
  clock: Clock
  contentDir?: string
  /** Checks and re-encodes the demo's images; one with the default limits when not given. */
  imageProcessor?: ImageProcessor
}): Promise<SeedResult> {
  const contentDir = deps.contentDir ?? DEMO_CONTENT_DIR
  // Read and check every folder before the transaction: no file I/O while holding locks.
  const names = (await readdir(contentDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  const folders: ContentFolder[] = []
  const media: FolderMedia[] = []
  const processor = deps.imageProcessor ?? createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS })
  for (const name of names) {
    const read = await readContentFolder(join(contentDir, name), { splitTitle })
    const resolved = await resolveFolderImages(read, { processor, maxFileBytes: DEMO_IMAGE_MAX_BYTES })
    folders.push(resolved.folder)
    media.push(...resolved.media)
  }

  return deps.db.transaction().execute(async (trx) => {
    const marked = await trx
      .insertInto('app_meta')
      .values({ key: DEMO_SEEDED_KEY, value: new Date(deps.clock.now()).toISOString() })
      // Another instance got there first (it waits for our commit, or we for theirs).
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst()
    if (!marked) return { seeded: false, imported: [] }
    await storeFolderMedia(trx, media, deps.clock)
    const imported: ImportSummary[] = []
    for (const folder of folders)
      imported.push(await importIntoCatalog(trx, folder, { clock: deps.clock, onlyIfNew: true }))
    return { seeded: true, imported }
  })
}
