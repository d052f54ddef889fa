import { presentPart, presentPartList, presentWork } from '../catalog/catalog.presenter.ts'
import type { PartSummary, WorkWithCount } from '../catalog/catalog.repository.ts'
import type { NumberedPart } from '../catalog/catalog.service.ts'
import type { LearnerState } from './courses.service.ts'
import type { Progress } from '../progress/progress.ts'
import type { PublicQuiz } from '../quizzes/quiz.service.ts'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** A course with its lessons' titles and, for a signed-in caller, where they are in it. */
export function presentCourse(work: WorkWithCount, lessons: readonly PartSummary[], learner: LearnerState) {
  return {
    ...presentWork('course', work),
    lessons: presentPartList(lessons, (lesson) => ({ completed: learner.completedLessonIds.has(lesson.id) })),
    enrolled: learner.enrolledAt !== null,
    enrolled_at: iso(learner.enrolledAt),
    progress: learner.progress,
  }
}

/** A lesson; `quiz` is the learner's view of its quiz (modules/quizzes/quiz.service.ts publicQuiz), or null. */
export function presentLesson(numbered: NumberedPart, bodyHtml: string, completed: boolean, quiz: PublicQuiz | null) {
  return presentPart('course', numbered, bodyHtml, { completed, quiz })
}

/** A course in the caller's own progress list. */
export function presentEnrolledCourse(entry: { work: WorkWithCount; enrolledAt: number; progress: Progress }) {
  return { ...presentWork('course', entry.work), enrolled_at: iso(entry.enrolledAt), progress: entry.progress }
}
