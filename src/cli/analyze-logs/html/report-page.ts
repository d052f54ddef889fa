import type { LatencyBin } from '../latency.ts'
import { formatCount, formatMs, formatPercent, jsonReport, type Report } from '../report.ts'
import { formatDuration, type TimelineEntry } from '../timeline.ts'
import { escapeHtml } from './escape.ts'
import { renderChart } from './svg-chart.ts'

/**
 * `--html FILE` (CONTRACT §13): one self-contained page, readable offline and on paper. No
 * script and no external resource of any kind (stylesheet, font, image, link to a site): the
 * CSS is inline, the charts are inline SVG, colours follow the reader's light or dark scheme
 * and are light when printed. Every text from the logs is escaped (escape.ts).
 */

export interface HtmlReportInput {
  report: Report & { timeline: { bucketMs: number; entries: TimelineEntry[] } }
  latencyDistribution: readonly LatencyBin[]
  generatedAt: Date
}

const STYLE = `
:root { color-scheme: light dark;
  --bg: #ffffff; --fg: #1b1f24; --muted: #59616b; --grid: #dde1e6; --card: #f4f6f8; --border: #d4d9df;
  --alert-bg: #fdecea; --alert-fg: #8a1c12; --ok-bg: #e9f6ee; --ok-fg: #1d5e33;
  --requests: #4a78b8; --errors: #d9480f; --server-errors: #7c1d1d;
  --p50: #2f8552; --p95: #b7791f; --p99: #c53030; --latency: #4a78b8; --security: #6b46c1; }
@media (prefers-color-scheme: dark) { :root {
  --bg: #121519; --fg: #e5e8ec; --muted: #a2aab4; --grid: #2c323a; --card: #1b2027; --border: #323943;
  --alert-bg: #3b1714; --alert-fg: #ffb4a8; --ok-bg: #15301f; --ok-fg: #9fdfb4;
  --requests: #7aa5e6; --errors: #ff8a50; --server-errors: #ff6b6b;
  --p50: #5fcf8a; --p95: #f0b44c; --p99: #ff7a7a; --latency: #7aa5e6; --security: #b197fc; } }
@media print { :root {
  --bg: #ffffff; --fg: #000000; --muted: #444444; --grid: #cccccc; --card: #ffffff; --border: #999999;
  --alert-bg: #ffffff; --alert-fg: #000000; --ok-bg: #ffffff; --ok-fg: #000000;
  --requests: #4a78b8; --errors: #d9480f; --server-errors: #7c1d1d;
  --p50: #2f8552; --p95: #b7791f; --p99: #c53030; --latency: #4a78b8; --security: #6b46c1; }
  figure, table, .figures { break-inside: avoid; } details { display: block; } }
body { background: var(--bg); color: var(--fg); margin: 0 auto; max-width: 980px; padding: 1.5rem;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 0.25rem; } h2 { font-size: 1.15rem; margin: 2rem 0 0.5rem; }
.meta, .note, figcaption { color: var(--muted); font-size: 0.9rem; }
.status { padding: 0.6rem 0.9rem; border-radius: 6px; margin: 1rem 0; }
.status.alert { background: var(--alert-bg); color: var(--alert-fg); } .status.ok { background: var(--ok-bg); color: var(--ok-fg); }
.status ul { margin: 0.2rem 0 0; padding-left: 1.2rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(10.5rem, 1fr)); gap: 0.6rem; margin: 0; }
.figures div { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 0.5rem 0.75rem; }
.figures dt { color: var(--muted); font-size: 0.85rem; } .figures dd { margin: 0; font-size: 1.25rem; font-variant-numeric: tabular-nums; }
.figures dd small { font-size: 0.85rem; color: var(--muted); }
figure { margin: 1rem 0 1.5rem; } svg.chart { width: 100%; height: auto; display: block; }
.grid { stroke: var(--grid); stroke-width: 1; } .baseline { stroke: var(--muted); stroke-width: 1; }
.axis { fill: var(--muted); font-size: 11px; font-family: inherit; }
.bars.s-requests, .key.s-requests { fill: var(--requests); background: var(--requests); }
.bars.s-errors, .key.s-errors { fill: var(--errors); background: var(--errors); }
.bars.s-server-errors, .key.s-server-errors { fill: var(--server-errors); background: var(--server-errors); }
.bars.s-latency, .key.s-latency { fill: var(--latency); background: var(--latency); }
.bars.s-security, .key.s-security { fill: var(--security); background: var(--security); }
.lines { fill: none; stroke-width: 2; } .lines circle { stroke: none; }
.lines.s-p50 { stroke: var(--p50); } .lines.s-p50 circle, .key.s-p50 { fill: var(--p50); background: var(--p50); }
.lines.s-p95 { stroke: var(--p95); } .lines.s-p95 circle, .key.s-p95 { fill: var(--p95); background: var(--p95); }
.lines.s-p99 { stroke: var(--p99); } .lines.s-p99 circle, .key.s-p99 { fill: var(--p99); background: var(--p99); }
.key { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; vertical-align: -0.1rem; margin: 0 0.25rem 0 0.75rem;
  print-color-adjust: exact; -webkit-print-color-adjust: exact; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
td.n, th.n { text-align: right; white-space: nowrap; } td.text { overflow-wrap: anywhere; }
summary { cursor: pointer; color: var(--muted); }
`

const SERIES_NAMES = {
  requests: 'Requests',
  errors: 'Errors (status ≥ 400)',
  serverErrors: 'Server errors (status ≥ 500)',
}

export function renderHtmlReport({ report, latencyDistribution, generatedAt }: HtmlReportInput): string {
  const figures = jsonReport(report)
  const { summary, alerts, thresholds, timeline } = report
  const window = figures.window as { from: string | null; to: string | null }
  const entries = timeline.entries
  const labels = timeLabels(entries)
  const bucket = formatDuration(timeline.bucketMs)
  const latency = summary.latencyMs

  const sections: string[] = []
  sections.push(
    `<h1>Lectern log report</h1>`,
    `<p class="meta">Window: ${escapeHtml(describeWindow(window.from, window.to))}. Generated ${escapeHtml(generatedAt.toISOString())}. Times are UTC.</p>`,
    alertStatus(alerts, thresholds),
    `<h2>Figures</h2>`,
    `<dl class="figures">`,
    figure('Requests', formatCount(summary.totalRequests)),
    figure('Errors', formatCount(summary.errorRequests), formatPercent(summary.errorRate)),
    figure('Server errors', formatCount(summary.serverErrorRequests), formatPercent(summary.serverErrorRate)),
    figure('Latency p50', latency === null ? '—' : formatMs(latency.p50)),
    figure('Latency p95', latency === null ? '—' : formatMs(latency.p95)),
    figure('Latency p99', latency === null ? '—' : formatMs(latency.p99)),
    figure('Latency max', latency === null ? '—' : formatMs(latency.max)),
    figure('Skipped lines', formatCount(summary.skippedLines)),
    `</dl>`,
    summary.latencyExact ? '' : `<p class="note">Percentiles within 0.5% (more requests than are kept one by one).</p>`,
  )

  sections.push(`<h2>Over time</h2>`)
  sections.push(
    chartFigure(
      'chart-requests',
      `Requests and errors per ${bucket}`,
      renderChart({
        title: `Requests and errors per ${bucket}`,
        slotLabels: labels,
        formatY: formatAxisCount,
        integers: true,
        kind: 'bars',
        series: [
          { name: SERIES_NAMES.requests, className: 's-requests', values: entries.map((e) => e.requests) },
          { name: SERIES_NAMES.errors, className: 's-errors', values: entries.map((e) => e.errors) },
          { name: SERIES_NAMES.serverErrors, className: 's-server-errors', values: entries.map((e) => e.serverErrors) },
        ],
      }),
      [
        ['s-requests', SERIES_NAMES.requests],
        ['s-errors', SERIES_NAMES.errors],
        ['s-server-errors', SERIES_NAMES.serverErrors],
      ],
    ),
    chartFigure(
      'chart-latency',
      `Latency percentiles per ${bucket} (nearest rank)`,
      renderChart({
        title: `Latency p50, p95 and p99 per ${bucket}`,
        slotLabels: labels,
        formatY: formatAxisMs,
        kind: 'lines',
        series: (['p50', 'p95', 'p99'] as const).map((p) => ({
          name: p,
          className: `s-${p}`,
          values: entries.map((e) => e.latencyMs?.[p] ?? null),
        })),
      }),
      [
        ['s-p50', 'p50'],
        ['s-p95', 'p95'],
        ['s-p99', 'p99'],
      ],
    ),
    chartFigure(
      'chart-security',
      `Security events per ${bucket}`,
      renderChart({
        title: `Security events per ${bucket}`,
        slotLabels: labels,
        formatY: formatAxisCount,
        integers: true,
        kind: 'bars',
        series: [{ name: 'Security events', className: 's-security', values: entries.map((e) => e.securityEvents) }],
      }),
      [['s-security', 'Security events (all kinds)']],
    ),
  )

  sections.push(`<h2>Latency distribution</h2>`)
  sections.push(
    chartFigure(
      'chart-distribution',
      'Requests by duration (logarithmic bins, from the fastest request to the slowest)',
      renderChart({
        title: 'Latency distribution: requests by duration',
        slotLabels: latencyDistribution.map((bin) => formatMs(bin.fromMs)),
        formatY: formatAxisCount,
        integers: true,
        kind: 'bars',
        series: [{ name: 'Requests', className: 's-latency', values: latencyDistribution.map((bin) => bin.count) }],
      }),
      [['s-latency', 'Requests']],
    ),
  )

  sections.push(`<h2>Top errors</h2>`, topErrorsTable(report))
  sections.push(`<h2>Security events</h2>`, securityTable(summary.securityEvents))
  sections.push(`<h2>Timeline</h2>`, timelineTable(entries, bucket))

  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1" />\n` +
    `<title>Lectern log report — ${escapeHtml(describeWindow(window.from, window.to))}</title>\n` +
    `<style>${STYLE}</style>\n</head>\n<body>\n${sections.filter((s) => s !== '').join('\n')}\n</body>\n</html>\n`
  )
}

function alertStatus(alerts: Report['alerts'], thresholds: Report['thresholds']): string {
  if (alerts.length === 0) {
    return `<p class="status ok" id="alerts">No alert: error rate ≤ ${escapeHtml(formatPercent(thresholds.errorRate))}, p95 ≤ ${escapeHtml(formatMs(thresholds.p95Ms))}.</p>`
  }
  const items = alerts.map((alert) =>
    alert.name === 'error_rate'
      ? `<li>ALERT error rate ${escapeHtml(formatPercent(alert.value))} is above the threshold of ${escapeHtml(formatPercent(alert.threshold))}</li>`
      : `<li>ALERT p95 latency ${escapeHtml(formatMs(alert.value))} is above the threshold of ${escapeHtml(formatMs(alert.threshold))}</li>`,
  )
  return `<div class="status alert" id="alerts"><strong>Alerts</strong><ul>${items.join('')}</ul></div>`
}

function figure(label: string, value: string, detail?: string): string {
  const small = detail === undefined ? '' : ` <small>${escapeHtml(detail)}</small>`
  return `<div><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}${small}</dd></div>`
}

function chartFigure(id: string, caption: string, svg: string, keys: Array<[string, string]>): string {
  const legend = keys.map(([className, name]) => `<span class="key ${className}"></span>${escapeHtml(name)}`).join('')
  return `<figure id="${id}">${svg}<figcaption>${escapeHtml(caption)}:${legend}</figcaption></figure>`
}

function topErrorsTable(report: Report): string {
  const errors = report.summary.topErrors
  if (errors.length === 0) return `<p>None.</p>`
  const rows = errors.map(
    (e) =>
      `<tr><td class="n">${escapeHtml(formatCount(e.count))}</td><td class="text">${escapeHtml(e.path ?? '(no path)')}</td><td class="text">${escapeHtml(e.error ?? '(no message)')}</td></tr>`,
  )
  const undercount =
    report.summary.topErrorsMaxUndercount > 0
      ? `<p class="note">Too many distinct errors to keep them all: counts may be low by up to ${escapeHtml(formatCount(report.summary.topErrorsMaxUndercount))}.</p>`
      : ''
  return `<table id="top-errors"><thead><tr><th class="n">count</th><th>path</th><th>error</th></tr></thead><tbody>${rows.join('')}</tbody></table>${undercount}`
}

function securityTable(counts: Record<string, number>): string {
  const rows = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
  if (rows.length === 0) return `<p>None.</p>`
  return `<table id="security-events"><thead><tr><th>event</th><th class="n">count</th></tr></thead><tbody>${rows
    .map(([name, count]) => `<tr><td>${escapeHtml(name)}</td><td class="n">${escapeHtml(formatCount(count))}</td></tr>`)
    .join('')}</tbody></table>`
}

function timelineTable(entries: readonly TimelineEntry[], bucket: string): string {
  if (entries.length === 0) return `<p>No lines in the window.</p>`
  const ms = (value: number | undefined) => (value === undefined ? '—' : formatMs(value))
  const rows = entries.map(
    (e) =>
      `<tr><td>${escapeHtml(new Date(e.fromMs).toISOString())}</td><td class="n">${escapeHtml(formatCount(e.requests))}</td>` +
      `<td class="n">${escapeHtml(formatCount(e.errors))}</td><td class="n">${escapeHtml(formatCount(e.serverErrors))}</td>` +
      `<td class="n">${escapeHtml(ms(e.latencyMs?.p50))}</td><td class="n">${escapeHtml(ms(e.latencyMs?.p95))}</td>` +
      `<td class="n">${escapeHtml(ms(e.latencyMs?.p99))}</td><td class="n">${escapeHtml(formatCount(e.securityEvents))}</td></tr>`,
  )
  return (
    `<details><summary>${escapeHtml(`${formatCount(entries.length)} buckets of ${bucket}`)}</summary>` +
    `<table id="timeline"><thead><tr><th>from</th><th class="n">requests</th><th class="n">errors</th><th class="n">5xx</th>` +
    `<th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">security</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></details>`
  )
}

/** Bucket starts as short as they can be while still telling buckets apart. */
function timeLabels(entries: readonly TimelineEntry[]): string[] {
  if (entries.length === 0) return []
  const first = entries[0] as TimelineEntry
  const last = entries.at(-1) as TimelineEntry
  const sameDay =
    new Date(first.fromMs).toISOString().slice(0, 10) === new Date(last.toMs - 1).toISOString().slice(0, 10)
  const withSeconds = entries.some((e) => e.fromMs % 60_000 !== 0)
  return entries.map((e) => {
    const iso = new Date(e.fromMs).toISOString()
    const time = withSeconds ? iso.slice(11, 19) : iso.slice(11, 16)
    return sameDay ? time : `${iso.slice(5, 10)} ${time}`
  })
}

function describeWindow(from: string | null, to: string | null): string {
  if (from === null && to === null) return 'all lines'
  if (from === null) return `until ${to}`
  if (to === null) return `from ${from}`
  return `${from} to ${to}`
}

function formatAxisCount(n: number): string {
  if (n >= 1e6) return `${trim(n / 1e6)}M`
  if (n >= 1e3) return `${trim(n / 1e3)}k`
  return trim(n)
}

function formatAxisMs(ms: number): string {
  if (ms === 0) return '0'
  if (ms >= 1000) return `${trim(ms / 1000)} s`
  return `${trim(ms)} ms`
}

function trim(n: number): string {
  return String(Math.round(n * 100) / 100)
}
