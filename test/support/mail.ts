import { createManualClock, type ManualClock } from '../../src/lib/clock.ts'
import { createLogger, type Logger } from '../../src/logging/logger.ts'
import { createMemorySink } from '../../src/logging/sinks.ts'
import type { MailTimers } from '../../src/mail/index.ts'
import { logLineProblem } from './log-schema.ts'

/**
 * Timers that fire only when the test says so, moving the manual clock by their delay: backoff
 * and shutdown bounds are tested without sleeping.
 */
export function createManualTimers(clock: ManualClock) {
  const scheduled = new Map<number, { callback: () => void; ms: number }>()
  const delays: number[] = []
  let nextId = 1
  const waiters = new Set<() => void>()
  const timers: MailTimers = {
    setTimeout(callback, ms) {
      const id = nextId++
      scheduled.set(id, { callback, ms })
      delays.push(ms)
      waiters.forEach((wake) => wake())
      return id
    },
    clearTimeout(handle) {
      scheduled.delete(handle as number)
    },
  }
  return {
    timers,
    /** Every delay ever asked for, in order. */
    delays,
    pending: () => scheduled.size,
    /** Resolves once at least `count` timers are waiting. */
    waitForTimers(count = 1): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (scheduled.size < count) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      })
    },
    /** Fires the earliest timer, after moving the clock by its delay. */
    fireNext() {
      const [id, timer] = [...scheduled.entries()].sort((a, b) => a[1].ms - b[1].ms)[0] ?? []
      if (id === undefined || !timer) throw new Error('no timer is waiting')
      scheduled.delete(id)
      clock.advance(timer.ms)
      timer.callback()
    },
  }
}

/** A logger writing to memory, for code that logs outside requests. */
export function createTestLogger(clock: ManualClock = createManualClock()): {
  logger: Logger
  clock: ManualClock
  lines: string[]
  events(name: string): Array<Record<string, unknown> & { extra: Record<string, unknown> }>
  /** Lines that break docs/log-schema.json. */
  schemaProblems(): string[]
} {
  const sink = createMemorySink()
  const logger = createLogger({ level: 'debug', sink, clock })
  return {
    logger,
    clock,
    lines: sink.lines,
    events: (name) =>
      sink.records().filter((record) => record.event === name) as Array<
        Record<string, unknown> & { extra: Record<string, unknown> }
      >,
    schemaProblems: () => sink.lines.map(logLineProblem).filter((problem) => problem !== null),
  }
}

/** Resolves once `done()` holds, checking after each turn of the event loop (no fixed sleep). */
export async function eventually(done: () => boolean, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + 10_000 // a safety net against a hang, never a wait
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}
