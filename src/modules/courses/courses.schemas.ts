import { envelope, partListSchema, partSchema, workSchema } from '../catalog/catalog.presenter.ts'
import { publicQuizSchema } from '../quizzes/quiz.schemas.ts'

export const progressSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['completed', 'total', 'percent'],
  properties: { completed: { type: 'integer' }, total: { type: 'integer' }, percent: { type: 'number' } },
} as const

const nullableProgress = { anyOf: [{ type: 'null' }, progressSchema] }
const nullableString = { type: ['string', 'null'] }

export const courseListResponseSchema = envelope('courses', { type: 'array', items: workSchema('course') })

export const courseResponseSchema = envelope(
  'course',
  workSchema('course', {
    lessons: partListSchema({ completed: { type: 'boolean' } }),
    enrolled: { type: 'boolean' },
    enrolled_at: nullableString,
    progress: nullableProgress,
  }),
)

export const lessonResponseSchema = envelope(
  'lesson',
  partSchema('course', { completed: { type: 'boolean' }, quiz: publicQuizSchema }),
)

export const enrollResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['enrolled', 'enrolled_at', 'progress'],
  properties: { enrolled: { type: 'boolean' }, enrolled_at: { type: 'string' }, progress: progressSchema },
} as const

export const progressResponseSchema = envelope('progress', progressSchema)

/** A course in GET /api/me/progress. */
export const enrolledCourseSchema = workSchema('course', { enrolled_at: { type: 'string' }, progress: progressSchema })
