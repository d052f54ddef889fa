import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import type { PartSummary, WorkWithCount } from '../catalog/catalog.repository.ts'
import { isStaff, type CatalogService, type Viewer } from '../catalog/catalog.service.ts'
import { createReadingRepository, type ReadingPositionRow } from './reading.repository.ts'

/**
 * How far ahead of the server's clock a client's `updated_at` may be. Device clocks drift by
 * seconds to minutes; a time further ahead would pin the position against every later update.
 */
export const MAX_CLIENT_CLOCK_SKEW_MS = 5 * 60 * 1000

export interface ReadingPosition {
  /** 1-based chapter number. */
  chapter: number
  /** How far into the chapter, 0..1. */
  position: number
  /** How far into the whole ebook, 0..100 with one decimal. */
  percent: number
  /** When the reader was there (ms). */
  readAt: number
}

export interface ReadingUpdate {
  chapter: number
  position: number
  /** ISO time the reader was there, from the device; the server's receive time when absent. */
  updated_at?: string
}

function positionOf(row: ReadingPositionRow, chapters: readonly PartSummary[]): ReadingPosition | null {
  const index = chapters.findIndex((chapter) => chapter.id === row.chapter_id)
  if (index === -1) return null
  const percent = Math.round(((index + row.position) / chapters.length) * 1000) / 10
  return { chapter: index + 1, position: row.position, percent, readAt: row.read_at }
}

/**
 * Where each reader is in each ebook. A position carries the time the reader was there, and
 * an update older than the stored one is ignored: a phone that syncs late never moves the
 * reader back from where the laptop left them (docs/content.md, "Progress").
 */
export function createReadingService(deps: { db: Kysely<Database>; clock: Clock; catalog: CatalogService }) {
  const { clock, catalog } = deps
  const repository = createReadingRepository(deps.db)

  function readAtOf(update: ReadingUpdate, nowMs: number): number {
    if (update.updated_at === undefined) return nowMs
    const readAt = Date.parse(update.updated_at)
    if (Number.isNaN(readAt)) throw badRequest('updated_at must be an ISO 8601 date-time')
    if (readAt > nowMs + MAX_CLIENT_CLOCK_SKEW_MS) throw badRequest('updated_at must not be in the future')
    return readAt
  }

  return {
    async positionIn(viewer: Viewer, work: WorkWithCount, chapters: readonly PartSummary[]) {
      if (!viewer) return null
      const row = await repository.find(viewer.id, work.id)
      return row ? positionOf(row, chapters) : null
    },

    /** Stores the position if it is the newest; returns the stored one either way. */
    async save(slug: string, viewer: RequestUser, update: ReadingUpdate) {
      const nowMs = clock.now()
      const readAt = readAtOf(update, nowMs)
      const { work, parts } = await catalog.get(slug, viewer)
      const chapter = parts[update.chapter - 1]
      if (!chapter) throw badRequest(`chapter must be between 1 and ${parts.length}`)
      const applied = await repository.saveIfNewer({
        user_id: viewer.id,
        ebook_id: work.id,
        chapter_id: chapter.id,
        position: update.position,
        read_at: readAt,
        recorded_at: nowMs,
      })
      const stored = await repository.find(viewer.id, work.id)
      return { applied, position: stored ? positionOf(stored, parts) : null }
    },

    /** The ebooks the caller has a position in, most recently read first; drafts only for staff. */
    async mine(viewer: RequestUser): Promise<Array<{ work: WorkWithCount; position: ReadingPosition }>> {
      const rows = await repository.listForUser(viewer.id)
      const works = new Map(
        (await catalog.repository.findWorksByIds(rows.map((row) => row.ebook_id))).map((work) => [work.id, work]),
      )
      const result: Array<{ work: WorkWithCount; position: ReadingPosition }> = []
      for (const row of rows) {
        const work = works.get(row.ebook_id)
        if (!work || (work.published !== 1 && !isStaff(viewer))) continue
        const position = positionOf(row, await catalog.repository.listParts(work.id))
        if (position) result.push({ work, position })
      }
      return result
    },
  }
}

export type ReadingService = ReturnType<typeof createReadingService>
