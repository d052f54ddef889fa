import type { Alert, AlertThresholds } from './alerts.ts'
import type { LogSummary } from './stats.ts'
import { formatDuration, type TimelineEntry } from './timeline.ts'
import { windowAsIso, type TimeWindow } from './window.ts'

export interface Report {
  summary: LogSummary
  alerts: Alert[]
  thresholds: AlertThresholds
  window: TimeWindow
  /** With --bucket: the bucket length and every bucket of the window. */
  timeline?: { bucketMs: number; entries: TimelineEntry[] } | null
}

/** CONTRACT §8's object, with exactly its keys and in its order. */
export function jsonReport({ summary, alerts, window, timeline }: Report): Record<string, unknown> {
  const latency = summary.latencyMs
  const report: Record<string, unknown> = {
    total_requests: summary.totalRequests,
    error_requests: summary.errorRequests,
    error_rate: summary.errorRate,
    server_error_rate: summary.serverErrorRate,
    latency_ms: {
      p50: latency?.p50 ?? null,
      p95: latency?.p95 ?? null,
      p99: latency?.p99 ?? null,
      max: latency?.max ?? null,
    },
    top_errors: summary.topErrors.map(({ path, error, count }) => ({ path, error, count })),
    security_events: { ...summary.securityEvents },
    alerts: alerts.map(({ name, value, threshold }) => ({ name, value, threshold })),
    skipped_lines: summary.skippedLines,
    window: windowAsIso(window),
  }
  // CONTRACT §13: only with --bucket, so the §8 object stays exactly as it was without it.
  if (timeline != null) report.timeline = timeline.entries.map(jsonTimelineEntry)
  return report
}

function jsonTimelineEntry(entry: TimelineEntry): Record<string, unknown> {
  return {
    from: new Date(entry.fromMs).toISOString(),
    to: new Date(entry.toMs).toISOString(),
    requests: entry.requests,
    errors: entry.errors,
    server_errors: entry.serverErrors,
    p50: entry.latencyMs?.p50 ?? null,
    p95: entry.latencyMs?.p95 ?? null,
    p99: entry.latencyMs?.p99 ?? null,
  }
}

/** One line: monitoring tools and `jq` read it as it is. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(jsonReport(report))}\n`
}

const PATH_COLUMN_MAX = 40
const ERROR_COLUMN_MAX = 60
const LABEL_WIDTH = 16

/** The same figures for a person at a terminal: aligned, with units, and alerts spelled out. */
export function renderText({ summary, alerts, thresholds, window, timeline }: Report): string {
  const out: string[] = []
  const row = (label: string, value: string) => out.push(`${label.padEnd(LABEL_WIDTH)}${value}`)
  const iso = windowAsIso(window)

  row('Window', describeWindow(iso.from, iso.to))
  const countWidth = Math.max(
    ...[summary.totalRequests, summary.errorRequests, summary.serverErrorRequests, summary.skippedLines].map(
      (n) => formatCount(n).length,
    ),
  )
  row('Requests', formatCount(summary.totalRequests).padStart(countWidth))
  const percentWidth = Math.max(formatPercent(summary.errorRate).length, formatPercent(summary.serverErrorRate).length)
  row(
    'Errors',
    `${formatCount(summary.errorRequests).padStart(countWidth)}  ${formatPercent(summary.errorRate).padStart(percentWidth)}  (status ≥ 400)`,
  )
  row(
    'Server errors',
    `${formatCount(summary.serverErrorRequests).padStart(countWidth)}  ${formatPercent(summary.serverErrorRate).padStart(percentWidth)}  (status ≥ 500)`,
  )
  row(
    'Skipped lines',
    `${formatCount(summary.skippedLines).padStart(countWidth)}${summary.skippedLines > 0 ? '  (not JSON, or without the fields needed)' : ''}`,
  )
  out.push('')

  const latency = summary.latencyMs
  if (latency === null) {
    row('Latency', 'no requests')
  } else {
    const cells = [latency.p50, latency.p95, latency.p99, latency.max].map(formatMs)
    const width = Math.max(...cells.map((c) => c.length))
    const note = summary.latencyExact ? '' : '   (percentiles within 0.5%)'
    row('Latency', ['p50', 'p95', 'p99', 'max'].map((h) => h.padStart(width)).join('  '))
    row('', cells.map((c) => c.padStart(width)).join('  ') + note)
  }
  out.push('')

  out.push(summary.topErrors.length === 0 ? 'Top errors      none' : 'Top errors')
  if (summary.topErrors.length > 0) {
    const counts = summary.topErrors.map((e) => formatCount(e.count))
    const paths = summary.topErrors.map((e) => truncate(printable(e.path ?? '(no path)'), PATH_COLUMN_MAX))
    const errors = summary.topErrors.map((e) => truncate(printable(e.error ?? '(no message)'), ERROR_COLUMN_MAX))
    const countWidth = Math.max(5, ...counts.map((c) => c.length))
    const pathWidth = Math.max(4, ...paths.map((p) => p.length))
    out.push(`  ${'count'.padStart(countWidth)}  ${'path'.padEnd(pathWidth)}  error`)
    summary.topErrors.forEach((_, i) =>
      out.push(`  ${counts[i]!.padStart(countWidth)}  ${paths[i]!.padEnd(pathWidth)}  ${errors[i]}`),
    )
    if (summary.topErrorsMaxUndercount > 0) {
      out.push(
        `  (too many distinct errors to keep them all: counts may be low by up to ${formatCount(summary.topErrorsMaxUndercount)})`,
      )
    }
  }
  out.push('')

  const security = Object.entries(summary.securityEvents)
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
  out.push(security.length === 0 ? 'Security events none' : 'Security events')
  if (security.length > 0) {
    const nameWidth = Math.max(...security.map(([name]) => name.length))
    const countWidth = Math.max(...security.map(([, count]) => formatCount(count).length))
    for (const [name, count] of security)
      out.push(`  ${name.padEnd(nameWidth)}  ${formatCount(count).padStart(countWidth)}`)
  }
  out.push('')

  if (timeline != null) {
    out.push(...timelineRows(timeline.bucketMs, timeline.entries), '')
  }

  if (alerts.length === 0) {
    row('Alerts', `none (error rate ≤ ${formatPercent(thresholds.errorRate)}, p95 ≤ ${formatMs(thresholds.p95Ms)})`)
  } else {
    out.push('Alerts')
    for (const alert of alerts) {
      out.push(
        alert.name === 'error_rate'
          ? `  ALERT error rate ${formatPercent(alert.value)} is above the threshold of ${formatPercent(alert.threshold)}`
          : `  ALERT p95 latency ${formatMs(alert.value)} is above the threshold of ${formatMs(alert.threshold)}`,
      )
    }
  }
  return `${out.join('\n')}\n`
}

/** One row a bucket: its start, requests, error rate and percentiles, aligned in columns. */
function timelineRows(bucketMs: number, entries: readonly TimelineEntry[]): string[] {
  const title = `Timeline (${formatDuration(bucketMs)} buckets)`
  if (entries.length === 0) return [`${title}  no lines in the window`]
  const header = ['from', 'requests', 'errors', 'error rate', '5xx', 'p50', 'p95', 'p99']
  const rows = entries.map((e) => [
    new Date(e.fromMs).toISOString(),
    formatCount(e.requests),
    formatCount(e.errors),
    e.requests === 0 ? '—' : formatPercent(e.errors / e.requests),
    formatCount(e.serverErrors),
    ...[e.latencyMs?.p50, e.latencyMs?.p95, e.latencyMs?.p99].map((ms) => (ms === undefined ? '—' : formatMs(ms))),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')}`
  return [title, line(header), ...rows.map(line)]
}

function describeWindow(from: string | null, to: string | null): string {
  if (from === null && to === null) return 'all lines (no time bound)'
  if (from === null) return `until ${to} (inclusive)`
  if (to === null) return `from ${from} (inclusive)`
  return `${from} to ${to} (both inclusive)`
}

/** 1234567 → "1,234,567", the same on every machine whatever its locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)} %`
}

/** Milliseconds with the precision a reader can use: "0.42 ms", "12.3 ms", "1,250 ms". */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${ms.toFixed(1)} ms`
  return `${formatCount(Math.round(ms))} ms`
}

/**
 * Paths and messages come from clients. Control characters (an ANSI escape could rewrite the
 * operator's terminal) and bidirectional overrides are shown escaped, never sent as they are.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** Cut by code point, so a character outside the BMP is never split in half. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  const codePoints = [...text]
  return codePoints.length <= max ? text : `${codePoints.slice(0, max - 1).join('')}…`
}
