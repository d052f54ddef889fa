/** Time as milliseconds since the epoch. Injected wherever time decides something, so tests can move it. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock that only moves when told to: for tests of expiry, windows and rotation. */
export function createManualClock(startMs = Date.UTC(2026, 0, 15, 12, 0, 0)) {
  let nowMs = startMs
  return {
    now: () => nowMs,
    advance(ms: number) {
      nowMs += ms
    },
    set(ms: number) {
      nowMs = ms
    },
  }
}
export type ManualClock = ReturnType<typeof createManualClock>
