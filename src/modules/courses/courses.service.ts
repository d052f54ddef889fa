import type { Kysely } from 'kysely'
import { isForeignKeyViolation } from '../../db/errors.ts'
import type { Database } from '../../db/schema.ts'
import { conflict, notFound } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import type { PartSummary, WorkWithCount } from '../catalog/catalog.repository.ts'
import { createCatalogService, isStaff, type NumberedPart, type Viewer } from '../catalog/catalog.service.ts'
import { createCourseProgressRepository } from '../progress/course-progress.repository.ts'
import { progressOf, type Progress } from '../progress/progress.ts'
import { createCertificatesRepository, type CertificateRow } from '../certificates/certificates.repository.ts'
import { lessonQuizRules } from '../quizzes/lesson-quiz.ts'
import { createQuizRepository, type NewQuizAttempt } from '../quizzes/quiz.repository.ts'

/** CONTRACT §12: a lesson with a quiz is completed by passing it. */
export const PASS_THE_QUIZ_MESSAGE = 'Pass the quiz to complete this lesson'

/** What completing a lesson did: the course's progress now, and the certificate it issued, if any. */
export interface Completion {
  progress: Progress
  /** Issued by this completion (the course's last lesson); null when none was, or one was before. */
  certificate: CertificateRow | null
}

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
  const catalog = createCatalogService({ db, kind: 'course', clock, partContent: lessonQuizRules })
  const progress = createCourseProgressRepository(db)
  const quizzes = createQuizRepository(db)

  /**
   * Enrols (if needed), marks the lesson complete and issues the course's certificate when that
   * was its last lesson, inside the caller's transaction. The certificate is judged on the
   * lessons that exist at that moment.
   */
  async function recordCompletion(
    trx: Kysely<Database>,
    viewer: RequestUser,
    courseId: number,
    lessonId: number,
    nowMs: number,
  ): Promise<CertificateRow | null> {
    const inside = createCourseProgressRepository(trx)
    await inside.enroll(viewer.id, courseId, nowMs)
    // Before the certificate is judged: a parallel completion of another lesson must be seen.
    await inside.lockEnrollment(viewer.id, courseId)
    await inside.complete(viewer.id, lessonId, nowMs)
    return createCertificatesRepository(trx).issueIfComplete(viewer.id, courseId, nowMs)
  }

  /** Runs a completion's writes in one transaction; a lesson deleted meanwhile is a 404. */
  async function inCompletion<T>(write: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(write)
    } catch (error) {
      // A foreign key refused the completion: the lesson was deleted a moment ago.
      if (isForeignKeyViolation(error)) throw notFound('Lesson not found')
      throw error
    }
  }

  const progressIn = async (viewer: RequestUser, courseId: number) =>
    progressOf((await progress.counts(viewer.id, [courseId])).get(courseId))

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
    quizzes,

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

    /**
     * Marks lesson n complete (enrolling if needed). Completing twice changes nothing. A lesson
     * with a quiz is completed by passing it: without a pass, 409.
     */
    async complete(slug: string, n: number, viewer: RequestUser): Promise<Completion> {
      const { work, part } = await catalog.part(slug, n, viewer)
      const nowMs = clock.now()
      const certificate = await inCompletion(async (trx) => {
        const inside = createQuizRepository(trx)
        if ((await inside.findQuiz(part.id)) !== null && !(await inside.hasPassed(viewer.id, part.id))) {
          throw conflict(PASS_THE_QUIZ_MESSAGE)
        }
        return recordCompletion(trx, viewer, work.id, part.id, nowMs)
      })
      return { progress: await progressIn(viewer, work.id), certificate }
    },

    /**
     * Keeps a graded quiz attempt and, when it passed, completes the lesson: both in one
     * transaction, so a pass is never kept without its completion (or a certificate without both).
     */
    async recordQuizAttempt(
      numbered: NumberedPart,
      viewer: RequestUser,
      attempt: Omit<NewQuizAttempt, 'userId' | 'lessonId' | 'createdAt'>,
    ): Promise<Completion> {
      const { work, part } = numbered
      const nowMs = clock.now()
      const certificate = await inCompletion(async (trx) => {
        const progressInside = createCourseProgressRepository(trx)
        // Enrolment rules as for completing: an attempt enrols.
        await progressInside.enroll(viewer.id, work.id, nowMs)
        await createQuizRepository(trx).insertAttempt({
          ...attempt,
          userId: viewer.id,
          lessonId: part.id,
          createdAt: nowMs,
        })
        return attempt.passed ? recordCompletion(trx, viewer, work.id, part.id, nowMs) : null
      })
      return { progress: await progressIn(viewer, work.id), certificate }
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
