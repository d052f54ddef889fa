import type { ProgressCounts } from './course-progress.repository.ts'

/** `{completed, total, percent}` of CONTRACT §6. */
export interface Progress {
  completed: number
  total: number
  /** completed / total × 100 with one decimal; 0 for a course without lessons. */
  percent: number
}

export function progressOf(counts: ProgressCounts | undefined): Progress {
  const completed = counts?.completed ?? 0
  const total = counts?.total ?? 0
  return { completed, total, percent: total === 0 ? 0 : Math.round((completed * 1000) / total) / 10 }
}
