import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Viewer } from '../catalog/catalog.service.ts'
import type { CatalogService } from '../catalog/catalog.service.ts'
import { progressOf } from '../progress/progress.ts'
import { createLearnersRepository } from './learners.repository.ts'

/**
 * The best quiz score of each learner of a course, in percent, by user id (the quizzes module's
 * repository); a learner without an attempt is absent, and their `quiz_best_percent` is null.
 */
export type QuizBestPercents = (courseId: number) => Promise<Map<number, number>>

export const noQuizScores: QuizBestPercents = async () => new Map()

export const LEARNER_SORTS = ['name', 'progress', 'last_activity'] as const
export type LearnerSort = (typeof LEARNER_SORTS)[number]

export interface LearnerReportEntry {
  user: { id: number; username: string; display_name: string }
  enrolledAt: number
  completed: number
  total: number
  percent: number
  /** The latest of enrolling and completing a lesson. */
  lastActivityAt: number
  quizBestPercent: number | null
}

const byName = (a: LearnerReportEntry, b: LearnerReportEntry) =>
  a.user.username.toLowerCase() < b.user.username.toLowerCase()
    ? -1
    : a.user.username.toLowerCase() > b.user.username.toLowerCase()
      ? 1
      : a.user.id - b.user.id

/**
 * Sorts: `name` by username (A→Z), `progress` most complete first, `last_activity` most recent
 * first; ties by username, so the order is stable and the same in the page and the CSV.
 */
const SORTS: Record<LearnerSort, (a: LearnerReportEntry, b: LearnerReportEntry) => number> = {
  name: byName,
  progress: (a, b) => b.percent - a.percent || byName(a, b),
  last_activity: (a, b) => b.lastActivityAt - a.lastActivityAt || byName(a, b),
}

/** A course's learners and their progress, for its owners and admins (CONTRACT §12). */
export function createLearnersReport(deps: {
  db: Kysely<Database>
  courses: CatalogService
  quizBestPercents?: QuizBestPercents
}) {
  const repository = createLearnersRepository(deps.db)
  const quizBestPercents = deps.quizBestPercents ?? noQuizScores

  return {
    async forCourse(slug: string, viewer: Viewer, sort: LearnerSort = 'name') {
      const { work } = await deps.courses.get(slug, viewer)
      const [rows, quizScores] = await Promise.all([repository.forCourse(work.id), quizBestPercents(work.id)])
      const learners = rows.map((row): LearnerReportEntry => {
        const progress = progressOf({ completed: row.completed, total: work.part_count })
        return {
          user: { id: row.user_id, username: row.username, display_name: row.display_name },
          enrolledAt: row.enrolled_at,
          ...progress,
          lastActivityAt: Math.max(row.enrolled_at, row.last_completed_at ?? 0),
          quizBestPercent: quizScores.get(row.user_id) ?? null,
        }
      })
      return { work, learners: learners.sort(SORTS[sort]) }
    },
  }
}

export type LearnersReport = ReturnType<typeof createLearnersReport>
