import { csvLine } from '../../lib/csv.ts'
import type { LearnerReportEntry } from './learners.service.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** One learner of GET /api/courses/:slug/learners (CONTRACT §12). */
export function presentLearner(entry: LearnerReportEntry) {
  return {
    user: { id: entry.user.id, username: entry.user.username, display_name: entry.user.display_name },
    enrolled_at: iso(entry.enrolledAt),
    completed: entry.completed,
    total: entry.total,
    percent: entry.percent,
    last_activity_at: iso(entry.lastActivityAt),
    quiz_best_percent: entry.quizBestPercent,
  }
}

export const LEARNERS_CSV_HEADER = [
  'user_id',
  'username',
  'display_name',
  'enrolled_at',
  'completed',
  'total',
  'percent',
  'last_activity_at',
  'quiz_best_percent',
] as const

/** The same report as CSV: a header row, then one row per learner in the report's order. */
export function learnersCsv(entries: readonly LearnerReportEntry[]): string {
  let text = csvLine(LEARNERS_CSV_HEADER)
  for (const entry of entries) {
    const row = presentLearner(entry)
    text += csvLine([
      row.user.id,
      row.user.username,
      row.user.display_name,
      row.enrolled_at,
      row.completed,
      row.total,
      row.percent,
      row.last_activity_at,
      row.quiz_best_percent,
    ])
  }
  return text
}

/** `attachment`, with a file name made of the slug (letters, digits and hyphens only). */
export function learnersCsvDisposition(slug: string): string {
  return `attachment; filename="${slug.replace(/[^a-z0-9-]/g, '')}-learners.csv"`
}

const nullableNumber = { type: ['number', 'null'] } as const

export const learnersResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['learners'],
  properties: {
    learners: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['user', 'enrolled_at', 'completed', 'total', 'percent', 'last_activity_at', 'quiz_best_percent'],
        properties: {
          user: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'username', 'display_name'],
            properties: { id: { type: 'integer' }, username: { type: 'string' }, display_name: { type: 'string' } },
          },
          enrolled_at: { type: 'string' },
          completed: { type: 'integer' },
          total: { type: 'integer' },
          percent: { type: 'number' },
          last_activity_at: { type: 'string' },
          quiz_best_percent: nullableNumber,
        },
      },
    },
  },
} as const
