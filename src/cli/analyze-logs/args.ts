import { ConfigError, parseDuration } from '../../config/parse.ts'
import { describeArgsProblem, parseCommandLine } from '../args.ts'
import { epochMsFromUtcFields } from './timestamp.ts'

export const USAGE = `Usage: lectern analyze-logs [options] [FILE|DIR|-]...

Reads Lectern's JSON logs and reports requests, error rates, latency percentiles, the most
frequent errors and security events, and whether an alert threshold is crossed.

Input: files (plain or gzip-compressed), directories (every *.log, *.jsonl or *.ndjson file
in them and their rotated copies: NAME.log.1, NAME.log-20261123, NAME.log.2026-11-23,
NAME.2026-11-23.log, each plain or .gz; not NAME.log.bak), or "-" for standard input, which
is also read when no input is named.

Options:
  --last-minutes N            only lines of the N minutes before now
  --since ISO                 only lines at or after this instant (inclusive)
  --until ISO                 only lines at or before this instant (inclusive)
  --top K                     how many of the most frequent errors to list (default 10)
  --error-rate-threshold R    alert when the error rate (0..1) is above R (default 0.01)
  --p95-threshold-ms MS       alert when the p95 latency is above MS ms (default 1000)
  --json                      print one JSON object instead of the report
  --follow                    keep reading the files and directories as they grow and
                              rotate; report the last --last-minutes N (default 5) every
                              --interval S seconds, until SIGINT or SIGTERM (exit 0)
  --interval S                with --follow, seconds between reports (default 5, 0.1 to 3600)
  --bucket DURATION           also the figures per bucket of time (90s, 5m, 1h, 1d): a
                              timeline, at most 10,000 buckets in the window
  --html FILE                 also write a self-contained HTML report with charts to FILE
                              (mode 0600; without --bucket, a bucket length is chosen)
  -h, --help                  print this help

Instants are ISO 8601, e.g. 2026-11-23T10:00:00Z or 2026-11-23 (midnight); without a
zone they are UTC, like the logs. --last-minutes cannot be combined with --since/--until.
--follow prints ALERT/RESOLVED lines as alerts start and end (with --json, one object per
report on standard output and those lines on standard error), and exits 0 on a signal.

Exit status: 0 no alert, 1 an alert fired, 2 bad usage or unreadable input.
`

export const DEFAULT_TOP_ERRORS = 10
export const DEFAULT_ERROR_RATE_THRESHOLD = 0.01
export const DEFAULT_P95_THRESHOLD_MS = 1000
export const DEFAULT_FOLLOW_LAST_MINUTES = 5
export const DEFAULT_FOLLOW_INTERVAL_SECONDS = 5
/** Below this the reports would scroll faster than anyone reads them, and polling would cost more than it tells. */
export const MIN_FOLLOW_INTERVAL_SECONDS = 0.1
export const MAX_FOLLOW_INTERVAL_SECONDS = 3600
/** More would not fit any screen, and keeps the error-group summary small (error-groups.ts). */
const MAX_TOP_ERRORS = 10_000

export interface AnalyzeOptions {
  /** Files, directories and "-", in the order given; empty means standard input. */
  inputs: string[]
  lastMinutes: number | null
  sinceMs: number | null
  untilMs: number | null
  json: boolean
  topErrors: number
  errorRateThreshold: number
  p95ThresholdMs: number
  /** --follow: keep reading and report every `intervalSeconds` (CONTRACT §13). */
  follow: boolean
  /** --interval; null when not given. */
  intervalSeconds: number | null
  /** --bucket: the length of a timeline bucket in ms, or null for no timeline. */
  bucketMs: number | null
  /** --html: where to write the HTML report, or null. */
  htmlFile: string | null
}

export type ParsedArgs =
  { kind: 'help' } | { kind: 'run'; options: AnalyzeOptions } | { kind: 'usage-error'; message: string }

class UsageError extends Error {}

const OPTIONS = {
  'last-minutes': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  top: { type: 'string' },
  'error-rate-threshold': { type: 'string' },
  'p95-threshold-ms': { type: 'string' },
  interval: { type: 'string' },
  bucket: { type: 'string' },
  html: { type: 'string' },
  json: { type: 'boolean' },
  follow: { type: 'boolean' },
} as const
type ValueOption = Exclude<keyof typeof OPTIONS, 'json' | 'follow'>

/** argv after `analyze-logs` → options, help, or the reason it is not usable. */
export function parseAnalyzeArgs(argv: readonly string[]): ParsedArgs {
  try {
    return parse(argv)
  } catch (error) {
    if (error instanceof UsageError) return { kind: 'usage-error', message: error.message }
    throw error
  }
}

function parse(argv: readonly string[]): ParsedArgs {
  const options: AnalyzeOptions = {
    inputs: [],
    lastMinutes: null,
    sinceMs: null,
    untilMs: null,
    json: false,
    topErrors: DEFAULT_TOP_ERRORS,
    errorRateThreshold: DEFAULT_ERROR_RATE_THRESHOLD,
    p95ThresholdMs: DEFAULT_P95_THRESHOLD_MS,
    follow: false,
    intervalSeconds: null,
    bucketMs: null,
    htmlFile: null,
  }
  const args = parseCommandLine(argv, OPTIONS)
  if (args.help) return { kind: 'help' }
  if (!args.ok) throw new UsageError(describeArgsProblem(args.problem))
  options.inputs = args.positionals
  options.json = args.values.json === true
  options.follow = args.values.follow === true
  for (const name of Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]) {
    const value = args.values[name]
    if (name !== 'json' && name !== 'follow' && typeof value === 'string') applyValueOption(options, name, value)
  }
  if (options.lastMinutes !== null && (options.sinceMs !== null || options.untilMs !== null)) {
    throw new UsageError('--last-minutes cannot be combined with --since or --until')
  }
  if (options.sinceMs !== null && options.untilMs !== null && options.sinceMs > options.untilMs) {
    throw new UsageError('--since is after --until: the window would be empty')
  }
  if (options.inputs.filter((input) => input === '-').length > 1) {
    throw new UsageError('standard input ("-") can be read only once')
  }
  checkFollowOptions(options)
  return { kind: 'run', options }
}

function applyValueOption(options: AnalyzeOptions, option: ValueOption, value: string): void {
  const name = `--${option}`
  switch (option) {
    case 'last-minutes': {
      const minutes = parseDecimal(name, value)
      if (minutes <= 0) throw new UsageError(`${name} must be more than 0, got "${value}"`)
      options.lastMinutes = minutes
      return
    }
    case 'since':
      options.sinceMs = parseInstant(name, value)
      return
    case 'until':
      options.untilMs = parseInstant(name, value)
      return
    case 'top': {
      if (!/^\d+$/.test(value) || Number(value) > MAX_TOP_ERRORS) {
        throw new UsageError(`${name} must be a whole number from 0 to ${MAX_TOP_ERRORS}, got "${value}"`)
      }
      options.topErrors = Number(value)
      return
    }
    case 'error-rate-threshold': {
      const rate = parseDecimal(name, value)
      if (rate > 1) throw new UsageError(`${name} is a fraction from 0 to 1 (0.05 for 5%), got "${value}"`)
      options.errorRateThreshold = rate
      return
    }
    case 'p95-threshold-ms':
      options.p95ThresholdMs = parseDecimal(name, value)
      return
    case 'interval': {
      const seconds = parseDecimal(name, value)
      if (seconds < MIN_FOLLOW_INTERVAL_SECONDS || seconds > MAX_FOLLOW_INTERVAL_SECONDS) {
        throw new UsageError(
          `${name} must be from ${MIN_FOLLOW_INTERVAL_SECONDS} to ${MAX_FOLLOW_INTERVAL_SECONDS} seconds, got "${value}"`,
        )
      }
      options.intervalSeconds = seconds
      return
    }
    case 'bucket':
      options.bucketMs = parseBucket(name, value)
      return
    case 'html':
      if (value === '' || value === '-')
        throw new UsageError(`${name} needs the path of the file to write, got "${value}"`)
      options.htmlFile = value
      return
  }
}

/**
 * --follow reports a window that moves with the clock, so it takes --last-minutes and not
 * --since/--until. It follows files: standard input has no size to poll, cannot be reopened
 * after rotation, and a pipe that ends would leave nothing to follow (name the file instead).
 */
function checkFollowOptions(options: AnalyzeOptions): void {
  if (!options.follow) {
    if (options.intervalSeconds !== null) throw new UsageError('--interval is used only with --follow')
    return
  }
  if (options.sinceMs !== null || options.untilMs !== null) {
    throw new UsageError('--follow reports the last --last-minutes N; it cannot be combined with --since or --until')
  }
  if (options.inputs.length === 0 || options.inputs.includes('-')) {
    throw new UsageError('--follow reads log files and directories, not standard input: name the file or directory')
  }
}

/** A plain non-negative decimal: "1", "0.5", ".5", "1e-3". Not "", "0x10" or "Infinity", which Number() would take. */
function parseDecimal(name: string, value: string): number {
  if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value))
    throw new UsageError(`${name} needs a non-negative number, got "${value}"`)
  const number = Number(value)
  if (!Number.isFinite(number)) throw new UsageError(`${name} is out of range: "${value}"`)
  return number
}

/** The configuration's durations (90s, 5m, 1h, 1d, or bare seconds), at least one second. */
function parseBucket(name: string, value: string): number {
  try {
    return parseDuration(value, name)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    throw new UsageError(`${name} needs a duration of at least 1s, such as 90s, 5m, 1h or 1d, got "${value}"`)
  }
}

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/i

/** ISO 8601 date or date-time → epoch ms. Without a zone it is UTC, the zone of the logs. */
export function parseInstant(name: string, value: string): number {
  const m = INSTANT.exec(value)
  const fail = () => new UsageError(`${name} needs an ISO 8601 instant such as 2026-11-23T10:00:00Z, got "${value}"`)
  if (m === null) throw fail()
  const field = (index: number) => Number(m[index] ?? 0)
  const millis = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'))
  const utcMs = epochMsFromUtcFields(field(1), field(2), field(3), field(4), field(5), field(6), millis)
  if (Number.isNaN(utcMs)) throw fail()
  if (m[9] === undefined) return utcMs
  if (field(10) > 23 || field(11) > 59) throw fail()
  const offsetMs = (field(10) * 60 + field(11)) * 60_000
  return m[9] === '-' ? utcMs + offsetMs : utcMs - offsetMs
}
