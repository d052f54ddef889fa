export interface ErrorGroup {
  path: string | null
  error: string | null
  count: number
}

export interface ErrorGroupsState {
  groups: ErrorGroup[]
  decrementSteps: number
}

/** Enough distinct (path, message) pairs for any real service, and about a few MB at most. */
export const DEFAULT_ERROR_GROUP_CAPACITY = 10_000

/**
 * Counts errors by (path, error message), most frequent first. The number of distinct pairs
 * is not bounded by Lectern (a scanner probing random paths makes a new 404 pair per line),
 * so past `capacity` pairs this becomes a Misra–Gries summary: a newcomer that finds no room
 * takes one off every count and drops the pairs that reach zero. A pair's count is then low
 * by at most `maxUndercount` (≤ errors / (capacity + 1)); every pair more frequent than that
 * is still listed. Until the first such step, counts are exact.
 */
export class ErrorGroups {
  private readonly groups = new Map<string, ErrorGroup>()
  private decrementSteps = 0
  private readonly capacity: number

  constructor(capacity = DEFAULT_ERROR_GROUP_CAPACITY) {
    this.capacity = capacity
  }

  get maxUndercount(): number {
    return this.decrementSteps
  }

  add(path: string | null, error: string | null): void {
    // JSON of the pair keeps null apart from "null" and cannot run the two fields together.
    const key = JSON.stringify([path, error])
    const group = this.groups.get(key)
    if (group !== undefined) {
      group.count++
    } else if (this.groups.size < this.capacity) {
      this.groups.set(key, { path, error, count: 1 })
    } else {
      this.decrementSteps++
      for (const [k, g] of this.groups) if (--g.count === 0) this.groups.delete(k)
    }
  }

  toState(): ErrorGroupsState {
    return { groups: [...this.groups.values()].map((g) => ({ ...g })), decrementSteps: this.decrementSteps }
  }

  /**
   * Adds another summary's counts. While neither has dropped a pair and the pairs together fit
   * the capacity, the counts stay exact: the same as one summary fed both inputs. Past the
   * capacity, the merge of Misra–Gries summaries (Agarwal et al., "Mergeable summaries"): the
   * counts are added, then the (capacity+1)-th largest count is taken off every pair and those
   * left at zero are dropped. A count is then low by at most the sum of what was taken off, the
   * bound maxUndercount keeps; the listed pairs may differ from a single pass's, within it.
   */
  merge(state: ErrorGroupsState): void {
    this.decrementSteps += state.decrementSteps
    for (const other of state.groups) {
      const key = JSON.stringify([other.path, other.error])
      const group = this.groups.get(key)
      if (group !== undefined) group.count += other.count
      else this.groups.set(key, { ...other })
    }
    if (this.groups.size <= this.capacity) return
    const counts = [...this.groups.values()].map((g) => g.count).sort((a, b) => b - a)
    const cut = counts[this.capacity] as number
    this.decrementSteps += cut
    for (const [key, group] of this.groups) if ((group.count -= cut) <= 0) this.groups.delete(key)
  }

  /** The k most frequent; ties in code-unit order of path, then message (null first), so output is stable. */
  top(k: number): ErrorGroup[] {
    return [...this.groups.values()]
      .sort((a, b) => b.count - a.count || compareNullable(a.path, b.path) || compareNullable(a.error, b.error))
      .slice(0, k)
      .map((g) => ({ ...g }))
  }
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0
  if (a === null) return -1
  if (b === null) return 1
  return a < b ? -1 : 1
}
