import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Clock } from '../../lib/clock.ts'
import { createCatalogRepository } from '../catalog/catalog.repository.ts'
import type { ContentKind } from '../catalog/content-kind.ts'
import type { ContentFolder } from './folder.ts'
import { createQuizRepository } from '../quizzes/quiz.repository.ts'

export interface ImportSummary {
  kind: ContentKind
  slug: string
  title: string
  /** The work did not exist before. */
  created: boolean
  /** onlyIfNew and the slug was taken: nothing was written. */
  skipped: boolean
  added: number
  updated: number
  unchanged: number
  removed: number
}

/**
 * Writes a checked folder into the catalog, in place: the work is found by its slug, and each
 * lesson or chapter by its file name without the number (`intro` for 01-intro.md). Matched parts
 * are updated and keep their id, so learners keep their completions and reading positions;
 * parts no longer in the folder are removed (and with them their completions); new files are
 * added. The folder is the truth: parts written through the API into an imported work are
 * removed by the next import.
 *
 * Run it inside a transaction (pass the transaction as `db`): an import lands whole or not at all.
 */
export async function importIntoCatalog(
  db: Kysely<Database>,
  folder: ContentFolder,
  opts: { clock: Clock; onlyIfNew?: boolean },
): Promise<ImportSummary> {
  const repo = createCatalogRepository(db, folder.kind)
  const nowMs = opts.clock.now()
  const summary: ImportSummary = {
    kind: folder.kind,
    slug: folder.slug,
    title: folder.title,
    created: false,
    skipped: false,
    added: 0,
    updated: 0,
    unchanged: 0,
    removed: 0,
  }

  let work = await repo.findWorkBySlug(folder.slug)
  if (work && opts.onlyIfNew) return { ...summary, skipped: true }
  if (!work) {
    await repo.insertWork({
      slug: folder.slug,
      title: folder.title,
      description: folder.description,
      // Imported by the operator: published unless the folder says otherwise.
      published: folder.published === false ? 0 : 1,
      created_by: null,
      created_at: nowMs,
      updated_at: nowMs,
    })
    work = (await repo.findWorkBySlug(folder.slug))!
    summary.created = true
  } else {
    await repo.updateWork(work.id, {
      title: folder.title,
      description: folder.description,
      // Left alone unless the folder says: staff may have unpublished it on purpose.
      ...(folder.published === null ? {} : { published: folder.published ? 1 : 0 }),
      updated_at: nowMs,
    })
  }

  // A course's quizzes and pass mark are kept with its lessons, in the same transaction.
  const quizzes = folder.kind === 'course' ? createQuizRepository(db) : null
  await quizzes?.setPassPercent(work.id, folder.passPercent)

  const before = await repo.listPartsWithBodies(work.id)
  const byKey = new Map(before.flatMap((part) => (part.source_key === null ? [] : [[part.source_key, part] as const])))
  const keep = new Set<number>()

  for (const [index, part] of folder.parts.entries()) {
    const position = index + 1
    const current = byKey.get(part.key)
    if (!current) {
      const id = await repo.insertPart({
        work_id: work.id,
        position,
        source_key: part.key,
        title: part.title,
        body_markdown: part.markdown,
        created_at: nowMs,
        updated_at: nowMs,
      })
      await quizzes?.saveQuiz(id, part.quiz, nowMs)
      summary.added++
      continue
    }
    keep.add(current.id)
    const contentChanged = current.title !== part.title || current.body_markdown !== part.markdown
    if (contentChanged || current.position !== position) {
      await repo.updatePart(current.id, {
        title: part.title,
        body_markdown: part.markdown,
        position,
        ...(contentChanged ? { updated_at: nowMs } : {}),
      })
    }
    await quizzes?.saveQuiz(current.id, part.quiz, nowMs)
    if (contentChanged) summary.updated++
    else summary.unchanged++
  }

  for (const part of before) {
    if (keep.has(part.id)) continue
    await repo.deletePart(part.id)
    summary.removed++
  }
  return summary
}
