import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { DEFAULT_FOLLOW_INTERVAL_SECONDS, DEFAULT_FOLLOW_LAST_MINUTES, type AnalyzeOptions } from '../args.ts'
import { InputError, describeFileError } from '../inputs.ts'
import { LogLineScanner } from '../line-scanner.ts'
import { LogFileTracker, type FollowTarget } from './file-tracker.ts'
import { RollingWindow } from './rolling-window.ts'
import { FollowReporter } from './reporter.ts'

const EXIT_OK = 0
const EXIT_USAGE_OR_INPUT = 2
/** How often files are looked at between reports: new lines are read in small helpings, not all at report time. */
const MAX_POLL_MS = 1000
const MINUTE_MS = 60_000

export interface FollowIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/** What time and waiting are, injected so tests move them instead of sleeping. */
export interface FollowDeps {
  nowMs: () => number
  /** Resolves after `ms`, or at once when `signal` is aborted. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
  /** Aborted to end following (SIGINT, SIGTERM). */
  stop: AbortSignal
}

/**
 * `lectern analyze-logs --follow` as the command line runs it: the clock and the timers of the
 * process, ended by SIGINT or SIGTERM (exit 0). A second signal, after the first, ends the
 * process at once as it would without this command.
 */
export async function followCommand(options: AnalyzeOptions, io: FollowIo & { now: () => Date }): Promise<number> {
  const controller = new AbortController()
  const onSignal = () => {
    removeListeners()
    controller.abort()
  }
  const removeListeners = () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await followLogs(options, io, {
      nowMs: () => io.now().getTime(),
      sleep: (ms, signal) =>
        delay(ms, undefined, { signal }).catch((error: unknown) => {
          if (!signal.aborted) throw error
        }),
      stop: controller.signal,
    })
  } finally {
    removeListeners()
  }
}

/**
 * CONTRACT §13 `--follow`: reads the named files and directories, then every poll reads what
 * was added (through rotation and truncation, file-tracker.ts) into a rolling window of the
 * last `--last-minutes` (default 5), and every `--interval` seconds (default 5) prints its
 * figures and the alerts that started or ended. Returns 0 once `deps.stop` is aborted, after
 * the output is flushed; 2 when an operand cannot be read at start.
 */
export async function followLogs(options: AnalyzeOptions, io: FollowIo, deps: FollowDeps): Promise<number> {
  let targets: FollowTarget[]
  try {
    targets = await checkTargets(options.inputs)
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    io.stderr.write(`lectern analyze-logs: ${error.message}\n`)
    return EXIT_USAGE_OR_INPUT
  }
  const intervalMs = Math.round((options.intervalSeconds ?? DEFAULT_FOLLOW_INTERVAL_SECONDS) * 1000)
  const windowMs = Math.round((options.lastMinutes ?? DEFAULT_FOLLOW_LAST_MINUTES) * MINUTE_MS)
  const pollMs = Math.min(intervalMs, MAX_POLL_MS)
  const { stop, nowMs } = deps
  // A reader that went away (`| head`) ends following as a signal would, instead of an unhandled EPIPE.
  const abortOnOutputError = new AbortController()
  const onOutputError = () => abortOnOutputError.abort()
  io.stdout.on('error', onOutputError)
  const stopped = AbortSignal.any([stop, abortOnOutputError.signal])

  const window = new RollingWindow({ windowMs, topErrors: options.topErrors, nowMs })
  const scanner = new LogLineScanner()
  const tracker = new LogFileTracker({
    targets,
    sink: {
      line: (buf, start, end) => window.addLine(scanner.scan(buf, start, end)),
      overlongLine: () => window.addSkipped(),
    },
    nowMs,
    windowMs,
    warn: (message) => io.stderr.write(`lectern analyze-logs: ${message}\n`),
    stopped: () => stopped.aborted,
  })
  const reporter = new FollowReporter({
    window,
    thresholds: { errorRate: options.errorRateThreshold, p95Ms: options.p95ThresholdMs },
    json: options.json,
    out: (text) => io.stdout.write(text),
    err: (text) => io.stderr.write(text),
  })
  try {
    await tracker.poll()
    if (!stopped.aborted) reporter.report(nowMs())
    let nextReportMs = nowMs() + intervalMs
    while (!stopped.aborted) {
      await deps.sleep(Math.max(0, Math.min(pollMs, nextReportMs - nowMs())), stopped)
      if (stopped.aborted) break
      await tracker.poll()
      const polledMs = nowMs()
      // Between reports too, so memory follows the window and not the interval.
      window.evict(polledMs)
      if (stopped.aborted || polledMs < nextReportMs) continue
      reporter.report(polledMs)
      nextReportMs += intervalMs
      // Behind (a long read, a suspended process): the next report is an interval from now, not a burst.
      if (nextReportMs <= polledMs) nextReportMs = polledMs + intervalMs
    }
  } finally {
    await tracker.close()
    io.stdout.off('error', onOutputError)
  }
  if (!abortOnOutputError.signal.aborted) await flushed(io.stdout)
  return EXIT_OK
}

/** Every operand must exist and be readable at start (a typo fails at once); a directory may still be empty. */
async function checkTargets(operands: readonly string[]): Promise<FollowTarget[]> {
  const targets: FollowTarget[] = []
  for (const path of operands) {
    const fail = (error: NodeJS.ErrnoException) => {
      throw new InputError(`cannot read "${path}": ${describeFileError(error)}`)
    }
    const info = await stat(path).catch(fail)
    const kind = info.isDirectory() ? 'directory' : 'file'
    await access(path, kind === 'directory' ? constants.R_OK | constants.X_OK : constants.R_OK).catch(fail)
    if (!targets.some((t) => t.path === path)) targets.push({ kind, path })
  }
  return targets
}

function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()))
}
