import pino from 'pino'
import type { LogLevel } from '../config/index.ts'
import type { Clock } from '../lib/clock.ts'
import type { EventName } from './events.ts'
import { redactSecrets } from './redact.ts'

const LEVEL_VALUES: Record<LogLevel, number> = { debug: 20, info: 30, warning: 40, error: 50, critical: 60 }

export type Logger = pino.Logger<LogLevel>

/** Anything a line can be written to: standard output, the rotating file, a test's array. */
export interface LineSink {
  /** `atMs`: when the chunk's first line was logged, if it was held back before this write. */
  write(line: string, atMs?: number): void
}

/**
 * The JSON-lines logger of CONTRACT §7: ISO timestamps with milliseconds, upper-case level
 * names, no pid/hostname noise. Lines are serialised once and handed to the sink, which
 * must not block (see sinks.ts).
 */
export function createLogger(opts: { level: LogLevel; sink: LineSink; clock: Clock }): Logger {
  const { clock } = opts
  const logger = pino<LogLevel>(
    {
      level: opts.level,
      customLevels: LEVEL_VALUES,
      useOnlyCustomLevels: true,
      base: null,
      messageKey: 'message',
      timestamp: () => `,"timestamp":"${new Date(clock.now()).toISOString()}"`,
      formatters: {
        level: (label) => ({ level: label.toUpperCase() }),
      },
    },
    opts.sink as pino.DestinationStream,
  )
  sinks.set(logger, opts.sink)
  return logger
}

const sinks = new WeakMap<Logger, LineSink>()

/** The sink a logger made by createLogger writes to: for lines serialised outside pino (request-lines.ts). */
export function sinkOf(logger: Logger): LineSink {
  const sink = sinks.get(logger)
  if (!sink) throw new Error('sinkOf: not a logger made by createLogger')
  return sink
}

export interface ErrorField {
  type: string
  message: string
  stack?: string
}

export interface EventFields {
  status_code?: number
  duration_ms?: number
  user_id?: number | null
  error?: ErrorField | null
  extra?: Record<string, unknown>
}

/** Writes one event line. `extra` is always passed through redaction. */
export function logEvent(log: Logger, level: LogLevel, event: EventName, fields: EventFields = {}): void {
  if (!log.isLevelEnabled(level)) return
  const line: Record<string, unknown> = { event, ...fields }
  if (fields.extra !== undefined) line.extra = redactSecrets(fields.extra)
  log[level](line)
}
