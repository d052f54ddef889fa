import { presentPartList, presentWork } from '../catalog/catalog.presenter.ts'
import type { PartSummary, WorkWithCount } from '../catalog/catalog.repository.ts'
import type { ReadingPosition } from '../progress/reading.service.ts'

export function presentReadingPosition(position: ReadingPosition | null) {
  if (!position) return null
  return {
    chapter: position.chapter,
    position: position.position,
    percent: position.percent,
    updated_at: new Date(position.readAt).toISOString(),
  }
}

/** An ebook with its chapter list and, for a signed-in reader, where they are in it. */
export function presentEbook(work: WorkWithCount, chapters: readonly PartSummary[], position: ReadingPosition | null) {
  return {
    ...presentWork('ebook', work),
    chapters: presentPartList(chapters),
    reading_position: presentReadingPosition(position),
  }
}

/** An ebook in the reader's own progress list. */
export function presentReadEbook(entry: { work: WorkWithCount; position: ReadingPosition }) {
  return { ...presentWork('ebook', entry.work), reading_position: presentReadingPosition(entry.position) }
}
