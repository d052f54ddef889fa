import type { Kysely } from 'kysely'
import { isForeignKeyViolation } from '../../db/errors.ts'
import type { Database } from '../../db/schema.ts'
import { notFound } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import type { PartSummary, WorkWithCount } from '../catalog/catalog.repository.ts'
import { createCatalogService, isStaff, type NumberedPart, type Viewer } from '../catalog/catalog.service.ts'
import { createCourseProgressRepository } from '../progress/course-progress.repository.ts'
import { progressOf, type Progress } from '../progress/progress.ts'

/** What the signed-in caller has done in a course; null fields for anonymous callers. */
export interface LearnerState {
  enrolledAt: number | null
  completedLessonIds: ReadonlySet<number>
  progress: Progress | null
}

const ANONYMOUS: LearnerState = { enrolledAt: null, completedLessonIds: new Set(), progress: null }

/**
 * Courses for learners: the catalog (drafts for staff only), enrollment, completion, and
 * progress computed live over the lessons that exist now.
 */
export function createCoursesService(deps: { db: Kysely<Database>; clock: Clock }) {
  const { db, clock } = deps
  const catalog = createCatalogService({ db, kind: 'course', clock })
  const progress = createCourseProgressRepository(db)

  async function learnerState(viewer: Viewer, courseId: number): Promise<LearnerState> {
    if (!viewer) return ANONYMOUS
    const [enrolledAt, completedLessonIds, counts] = await Promise.all([
      progress.enrolledAt(viewer.id, courseId),
      progress.completedLessonIds(viewer.id, courseId),
      progress.counts(viewer.id, [courseId]),
    ])
    return { enrolledAt, completedLessonIds, progress: progressOf(counts.get(courseId)) }
  }

  /** The number of the first lesson, in course order, the learner has not completed; null when all are. */
  async function nextLesson(userId: number, courseId: number): Promise<number | null> {
    const [lessons, completed] = await Promise.all([
      catalog.repository.listParts(courseId),
      progress.completedLessonIds(userId, courseId),
    ])
    const index = lessons.findIndex((lesson) => !completed.has(lesson.id))
    return index === -1 ? null : index + 1
  }

  return {
    catalog,

    async detail(
      slug: string,
      viewer: Viewer,
    ): Promise<{ work: WorkWithCount; parts: PartSummary[]; learner: LearnerState }> {
      const { work, parts } = await catalog.get(slug, viewer)
      return { work, parts, learner: await learnerState(viewer, work.id) }
    },

    async lesson(slug: string, n: number, viewer: Viewer): Promise<NumberedPart & { completed: boolean }> {
      const numbered = await catalog.part(slug, n, viewer)
      const completed = viewer
        ? (await progress.completedLessonIds(viewer.id, numbered.work.id)).has(numbered.part.id)
        : false
      return { ...numbered, completed }
    },

    async enroll(slug: string, viewer: RequestUser): Promise<{ enrolledAt: number; progress: Progress }> {
      const { work } = await catalog.get(slug, viewer)
      await progress.enroll(viewer.id, work.id, clock.now())
      const state = await learnerState(viewer, work.id)
      return { enrolledAt: state.enrolledAt!, progress: state.progress! }
    },

    /** Marks lesson n complete (enrolling if needed). Completing twice changes nothing. */
    async complete(slug: string, n: number, viewer: RequestUser): Promise<Progress> {
      const { work, part } = await catalog.part(slug, n, viewer)
      const nowMs = clock.now()
      try {
        await db.transaction().execute(async (trx) => {
          const inside = createCourseProgressRepository(trx)
          await inside.enroll(viewer.id, work.id, nowMs)
          await inside.complete(viewer.id, part.id, nowMs)
        })
      } catch (error) {
        // A foreign key refused the completion: the lesson was deleted a moment ago.
        if (isForeignKeyViolation(error)) throw notFound('Lesson not found')
        throw error
      }
      return progressOf((await progress.counts(viewer.id, [work.id])).get(work.id))
    },

    /** The caller's enrolled courses with progress; drafts only for staff. */
    async mine(
      viewer: RequestUser,
    ): Promise<Array<{ work: WorkWithCount; enrolledAt: number; progress: Progress; nextLesson: number | null }>> {
      const enrollments = await progress.enrollments(viewer.id)
      const works = (await catalog.repository.findWorksByIds(enrollments.map((e) => e.course_id))).filter(
        (work) => work.published === 1 || isStaff(viewer),
      )
      const counts = await progress.counts(
        viewer.id,
        works.map((work) => work.id),
      )
      const enrolledAt = new Map(enrollments.map((e) => [e.course_id, e.enrolled_at]))
      const next = await Promise.all(works.map((work) => nextLesson(viewer.id, work.id)))
      return works
        .map((work, i) => ({
          work,
          enrolledAt: enrolledAt.get(work.id)!,
          progress: progressOf(counts.get(work.id)),
          nextLesson: next[i]!,
        }))
        .sort((a, b) => a.enrolledAt - b.enrolledAt || a.work.id - b.work.id)
    },
  }
}

export type CoursesService = ReturnType<typeof createCoursesService>
