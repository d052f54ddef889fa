import { systemTimers, type Timers } from '../../lib/timers.ts'

/**
 * The attempts this instance holds at each counter: reserved before the work they guard, not yet
 * given back (a right password) nor settled (the response went out). Reserve-before-verify makes
 * a crowd's attempts count while they are verified, so forty learners pressing "Sign in" at once
 * behind one school address would find the limit full of their classmates' reservations and be
 * refused, although none of them failed. A request that finds its counter full while attempts of
 * the same counter are still in flight here waits for one of them to settle and looks again; a
 * guesser's in-flight failures stay counted when they settle, so the wait never lets more
 * attempts be verified than the limit allows.
 */
export interface InFlightGate {
  /** Runs `admit` for these counters one request at a time (a look and a count, never interleaved). */
  serially<T>(keys: readonly string[], admit: () => Promise<T>): Promise<T>
  /** Attempts held at this counter now. */
  held(key: string): number
  hold(keys: readonly string[]): void
  release(keys: readonly string[]): void
  /** Resolves when an attempt of this counter settles, or at the deadline (a ms timestamp of `now`). */
  settled(key: string, deadlineMs: number): Promise<void>
  /** A milliseconds clock for deadlines (monotonic). */
  now(): number
}

interface Entry {
  held: number
  waiters: Set<() => void>
  /** The tail of the queue of `serially` callers. */
  queue: Promise<unknown>
  queued: number
}

export function createInFlightGate(opts: { timers?: Timers; now?: () => number } = {}): InFlightGate {
  const timers = opts.timers ?? systemTimers
  const now = opts.now ?? (() => performance.now())
  const entries = new Map<string, Entry>()

  const entry = (key: string): Entry => {
    let found = entries.get(key)
    if (!found) {
      found = { held: 0, waiters: new Set(), queue: Promise.resolve(), queued: 0 }
      entries.set(key, found)
    }
    return found
  }
  // Bounded by what is in flight: an entry goes once nothing holds, waits or queues on it.
  const forgetIfIdle = (key: string, found: Entry) => {
    if (found.held === 0 && found.waiters.size === 0 && found.queued === 0) entries.delete(key)
  }

  return {
    async serially(keys, admit) {
      const key = [...keys].sort().join('\n')
      const found = entry(key)
      found.queued++
      const turn = found.queue.then(admit)
      found.queue = turn.catch(() => {})
      try {
        return await turn
      } finally {
        found.queued--
        forgetIfIdle(key, found)
      }
    },
    held: (key) => entries.get(key)?.held ?? 0,
    hold(keys) {
      for (const key of keys) entry(key).held++
    },
    release(keys) {
      for (const key of keys) {
        const found = entries.get(key)
        if (!found) continue
        found.held = Math.max(0, found.held - 1)
        for (const wake of found.waiters) wake()
        forgetIfIdle(key, found)
      }
    },
    settled(key, deadlineMs) {
      const found = entry(key)
      return new Promise<void>((resolve) => {
        const wake = () => {
          timers.clearTimeout(timer)
          found.waiters.delete(wake)
          forgetIfIdle(key, found)
          resolve()
        }
        const timer = timers.setTimeout(wake, Math.max(0, deadlineMs - now()))
        found.waiters.add(wake)
      })
    },
    now,
  }
}
