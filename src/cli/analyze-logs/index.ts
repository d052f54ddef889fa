import { evaluateAlerts } from './alerts.ts'
import { analyzeInputs } from './analyze.ts'
import { checkWritable, writeHtmlReport } from './html/index.ts'
import { USAGE, parseAnalyzeArgs } from './args.ts'
import { InputError, resolveInputs } from './inputs.ts'
import { QUIET_PROGRESS, terminalProgress } from './progress.ts'
import { renderJson, renderText } from './report.ts'
import { defaultParallelOptions, type ParallelOptions } from './parallel/index.ts'
import { createStats, type StatsConfig } from './stats-config.ts'
import { Timeline, TimelineTooLongError, MAX_TIMELINE_BUCKETS, tooManyBuckets } from './timeline.ts'
import { windowFromOptions } from './window.ts'

const EXIT_OK = 0
const EXIT_ALERT = 1
const EXIT_USAGE_OR_INPUT = 2

export interface AnalyzeLogsIo {
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  now: () => Date
  stderrIsTTY: boolean
  /** When large files are scanned by worker threads too (default: every core, files from 64 MiB). */
  parallel?: ParallelOptions
}

/**
 * `lectern analyze-logs` (CONTRACT §8). `argv` is what follows the command name. Returns the
 * exit status: 0 no alert, 1 an alert fired, 2 bad usage or unreadable input.
 */
export async function analyzeLogsCommand(argv: string[], io: AnalyzeLogsIo): Promise<number> {
  const parsed = parseAnalyzeArgs(argv)
  if (parsed.kind === 'help') {
    io.stdout.write(USAGE)
    return EXIT_OK
  }
  if (parsed.kind === 'usage-error') return usageError(io, parsed.message)
  const options = parsed.options
  if (options.follow) return (await import('./follow/index.ts')).followCommand(options, io)
  const window = windowFromOptions(options, io.now())
  // --html draws a timeline even without --bucket: one of an automatic bucket length.
  const bucket = options.bucketMs ?? (options.htmlFile !== null ? 'auto' : null)
  if (options.bucketMs !== null && (Timeline.bucketCount(window, options.bucketMs) ?? 0) > MAX_TIMELINE_BUCKETS) {
    return usageError(io, tooManyBuckets(options.bucketMs))
  }
  const statsConfig: StatsConfig = { window, topErrors: options.topErrors, bucket }
  const { stats, timeline } = createStats(statsConfig)
  const progress = io.stderrIsTTY && !options.json ? terminalProgress(io.stderr, io.now) : QUIET_PROGRESS
  try {
    if (options.htmlFile !== null) await checkWritable(options.htmlFile)
    const inputs = await resolveInputs(options.inputs)
    if (inputs.some((input) => input.kind === 'stdin') && (io.stdin as { isTTY?: boolean }).isTTY === true) {
      io.stderr.write('lectern analyze-logs: reading log lines from the terminal; end with Ctrl-D (or name a file)\n')
    }
    const parallel = { config: statsConfig, options: io.parallel ?? defaultParallelOptions() }
    await analyzeInputs(inputs, stats, { stdin: io.stdin, progress, parallel })
  } catch (error) {
    progress.finish()
    // A window unbounded on one side is measured by its lines: too long shows only while reading.
    if (error instanceof TimelineTooLongError) return usageError(io, error.message)
    if (!(error instanceof InputError)) throw error
    io.stderr.write(`lectern analyze-logs: ${error.message}\n`)
    return EXIT_USAGE_OR_INPUT
  }
  const thresholds = { errorRate: options.errorRateThreshold, p95Ms: options.p95ThresholdMs }
  const summary = stats.summary()
  const alerts = evaluateAlerts(summary, thresholds)
  const timelineEntries = timeline && { bucketMs: timeline.bucketMs, entries: timeline.entries() }
  // An automatic timeline is the page's alone: the printed report has one only when asked for.
  const report = { summary, alerts, thresholds, window, timeline: options.bucketMs === null ? null : timelineEntries }
  if (options.htmlFile !== null && timelineEntries !== null) {
    try {
      await writeHtmlReport(options.htmlFile, { ...report, timeline: timelineEntries }, stats, io.now())
    } catch (error) {
      if (!(error instanceof InputError)) throw error
      io.stderr.write(`lectern analyze-logs: ${error.message}\n`)
      return EXIT_USAGE_OR_INPUT
    }
  }
  io.stdout.write(options.json ? renderJson(report) : renderText(report))
  return alerts.length > 0 ? EXIT_ALERT : EXIT_OK
}

function usageError(io: AnalyzeLogsIo, message: string): number {
  io.stderr.write(`lectern analyze-logs: ${message}\nRun "lectern analyze-logs --help" for usage.\n`)
  return EXIT_USAGE_OR_INPUT
}
