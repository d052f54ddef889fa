import { escapeHtml } from './escape.ts'

/**
 * A small SVG chart renderer for the HTML report: bars or lines over evenly spaced slots (time
 * buckets, histogram bins), a y axis from 0 with round ticks, a few x labels. Colours are CSS
 * classes the page styles (light, dark and print), never inline values; every text is escaped.
 */

export interface Series {
  name: string
  /** A CSS class of the page: `s-requests`, `s-p95`… */
  className: string
  /** One value a slot; null leaves a gap (an empty bucket has no latency). */
  values: ReadonlyArray<number | null>
}

export interface ChartOptions {
  /** The accessible name of the chart (its <title>). */
  title: string
  /** Labels of the slots, shown for a few evenly spaced ones. */
  slotLabels: readonly string[]
  /** Formats a y value for the axis. */
  formatY: (value: number) => string
  /** Counts: the axis reaches at least 4, so its ticks are whole numbers. */
  integers?: boolean
  /** Bars, drawn over each other in order (so a part drawn after its whole shows within it), or lines. */
  kind: 'bars' | 'lines'
  series: readonly Series[]
}

const WIDTH = 720
const HEIGHT = 240
const LEFT = 64
const RIGHT = 12
const TOP = 12
const BOTTOM = 30
const PLOT_WIDTH = WIDTH - LEFT - RIGHT
const PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
const Y_TICKS = 4
const X_LABELS = 5
/** Below this many slots each point of a line is also marked, so a lone value is visible. */
const MARK_POINTS_BELOW = 60

const fixed = (n: number) => (Math.round(n * 10) / 10).toString()

export function renderChart(options: ChartOptions): string {
  const slots = options.slotLabels.length
  // A loop, not Math.max(...values): 10,000 buckets of three series would be 30,000 arguments.
  let highest = 0
  for (const series of options.series)
    for (const value of series.values) if (value !== null && value > highest) highest = value
  const top = options.integers === true && highest > 0 ? Math.max(4, niceCeiling(highest)) : niceCeiling(highest)
  const y = (value: number) => TOP + PLOT_HEIGHT - (top === 0 ? 0 : (value / top) * PLOT_HEIGHT)
  const slotWidth = slots === 0 ? PLOT_WIDTH : PLOT_WIDTH / slots
  const x = (slot: number) => LEFT + (slot + 0.5) * slotWidth

  const parts: string[] = []
  for (let i = 0; i <= Y_TICKS; i++) {
    const value = (top / Y_TICKS) * i
    const at = fixed(y(value))
    parts.push(`<line class="grid" x1="${LEFT}" y1="${at}" x2="${WIDTH - RIGHT}" y2="${at}" />`)
    parts.push(
      `<text class="axis" x="${LEFT - 6}" y="${at}" text-anchor="end" dominant-baseline="middle">${escapeHtml(options.formatY(value))}</text>`,
    )
  }
  for (const slot of labelledSlots(slots)) {
    const anchor = slots === 1 ? 'middle' : slot === 0 ? 'start' : slot === slots - 1 ? 'end' : 'middle'
    const at = slots === 1 ? x(0) : anchor === 'start' ? LEFT : anchor === 'end' ? WIDTH - RIGHT : x(slot)
    parts.push(
      `<text class="axis" x="${fixed(at)}" y="${HEIGHT - 10}" text-anchor="${anchor}">${escapeHtml(options.slotLabels[slot] ?? '')}</text>`,
    )
  }
  for (const series of options.series) {
    parts.push(options.kind === 'bars' ? bars(series, x, y, slotWidth) : line(series, x, y, slots))
  }
  if (slots === 0) {
    parts.push(
      `<text class="axis" x="${LEFT + PLOT_WIDTH / 2}" y="${TOP + PLOT_HEIGHT / 2}" text-anchor="middle">no data</text>`,
    )
  }
  parts.push(
    `<line class="baseline" x1="${LEFT}" y1="${TOP + PLOT_HEIGHT}" x2="${WIDTH - RIGHT}" y2="${TOP + PLOT_HEIGHT}" />`,
  )
  return (
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" preserveAspectRatio="xMidYMid meet">` +
    `<title>${escapeHtml(options.title)}</title>${parts.join('')}</svg>`
  )
}

function bars(series: Series, x: (slot: number) => number, y: (value: number) => number, slotWidth: number): string {
  const width = Math.max(0.5, slotWidth * 0.8)
  const rects: string[] = []
  series.values.forEach((value, slot) => {
    if (value === null || value <= 0) return
    const top = y(value)
    rects.push(
      `<rect x="${fixed(x(slot) - width / 2)}" y="${fixed(top)}" width="${fixed(width)}" height="${fixed(TOP + PLOT_HEIGHT - top)}" />`,
    )
  })
  return `<g class="bars ${escapeHtml(series.className)}"><title>${escapeHtml(series.name)}</title>${rects.join('')}</g>`
}

function line(series: Series, x: (slot: number) => number, y: (value: number) => number, slots: number): string {
  let path = ''
  let drawing = false
  const marks: string[] = []
  series.values.forEach((value, slot) => {
    if (value === null) {
      drawing = false
      return
    }
    path += `${drawing ? 'L' : 'M'}${fixed(x(slot))} ${fixed(y(value))}`
    drawing = true
    if (slots < MARK_POINTS_BELOW) marks.push(`<circle cx="${fixed(x(slot))}" cy="${fixed(y(value))}" r="2.5" />`)
  })
  const pathElement = path === '' ? '' : `<path d="${path}" />`
  return `<g class="lines ${escapeHtml(series.className)}"><title>${escapeHtml(series.name)}</title>${pathElement}${marks.join('')}</g>`
}

/** Up to X_LABELS slots, evenly spaced, the first and the last among them. */
function labelledSlots(slots: number): number[] {
  if (slots <= X_LABELS) return Array.from({ length: slots }, (_, i) => i)
  return Array.from({ length: X_LABELS }, (_, i) => Math.round((i * (slots - 1)) / (X_LABELS - 1)))
}

/** The smallest 1, 2, 4, 5 or 8 × 10^k at or above `value`: its quarters are round ticks. 0 stays 0. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 0
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 4, 5, 8, 10]) {
    const candidate = step * magnitude
    if (candidate >= value * (1 - 1e-12)) return candidate
  }
  return 10 * magnitude
}
