/**
 * The time window lines must fall in. Both ends are inclusive: a line stamped exactly at
 * --since or at --until counts, so consecutive runs over `[a, b]` then `[b, c]` may count a
 * line at b twice but never lose one. `null` means unbounded on that side.
 */
export interface TimeWindow {
  fromMs: number | null
  toMs: number | null
}

export interface WindowOptions {
  lastMinutes: number | null
  sinceMs: number | null
  untilMs: number | null
}

const MINUTE_MS = 60_000

/** --last-minutes N is [now − N minutes, now]; otherwise --since/--until as given. */
export function windowFromOptions(options: WindowOptions, now: Date): TimeWindow {
  if (options.lastMinutes !== null) {
    const nowMs = now.getTime()
    return { fromMs: nowMs - Math.round(options.lastMinutes * MINUTE_MS), toMs: nowMs }
  }
  return { fromMs: options.sinceMs, toMs: options.untilMs }
}

/** A test for one timestamp, made once so the per-line check is two comparisons. */
export function windowContains(window: TimeWindow): (timestampMs: number) => boolean {
  const from = window.fromMs ?? -Infinity
  const to = window.toMs ?? Infinity
  return (timestampMs) => timestampMs >= from && timestampMs <= to
}

export function windowAsIso(window: TimeWindow): { from: string | null; to: string | null } {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return { from: iso(window.fromMs), to: iso(window.toMs) }
}
