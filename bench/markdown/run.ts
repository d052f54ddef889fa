/**
 * Markdown rendering figures: an ordinary lesson rendered on the event loop (the previous
 * approach) and through the render worker (the current one), first render and cache hit; then
 * each hostile input of test/fixtures/markdown/hostile.ts, how long the previous approach held
 * the event loop with it, and what the worker does with it (rendered or refused, in how long,
 * with the event loop's longest delay meanwhile).
 *
 *   node --import tsx bench/markdown/run.ts [--skip-inline]
 *
 * --skip-inline leaves out the previous approach's hostile renders (they alone take a minute or
 * more: one of them holds the thread for 25–40 s). The whole run takes a few minutes.
 */
import { cpus } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import {
  createMarkdownRenderer,
  DEFAULT_RENDER_BUDGET_MS,
  renderSafeHtml,
} from '../../src/modules/catalog/rendering/markdown.ts'
import { ContentTooComplexError } from '../../src/modules/catalog/rendering/render-pool.ts'
import { HOSTILE_MARKDOWN, ORDINARY_LESSON } from '../../test/fixtures/markdown/hostile.ts'

const ORDINARY_RUNS = 200
const skipInline = process.argv.includes('--skip-inline')

function percentile(sortedMs: number[], fraction: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1)]!
}

async function timeRuns(runs: number, task: (i: number) => unknown): Promise<{ medianMs: number; p95Ms: number }> {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    await task(i)
    samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  samples.sort((a, b) => a - b)
  return { medianMs: percentile(samples, 0.5), p95Ms: percentile(samples, 0.95) }
}

console.log(`node ${process.version}, ${cpus().length} CPU(s): ${cpus()[0]?.model ?? 'unknown'}`)
console.log(`budget ${DEFAULT_RENDER_BUDGET_MS} ms per render; ordinary lesson ${ORDINARY_LESSON.length} characters`)

// --- An ordinary lesson: every run a new source (a trailing number), so nothing is a cache hit. ------
const renderer = createMarkdownRenderer()
await renderer.render('warm-up') // starts the worker: not part of any figure
const distinct = (i: number) => `${ORDINARY_LESSON}\n${i}\n`
for (let i = 0; i < 20; i++) renderSafeHtml(distinct(-i - 1)) // warm the inline path's JIT too
const inline = await timeRuns(ORDINARY_RUNS, (i) => renderSafeHtml(distinct(i)))
const worker = await timeRuns(ORDINARY_RUNS, (i) => renderer.render(distinct(ORDINARY_RUNS + i)))
const cached = await timeRuns(ORDINARY_RUNS, () => renderer.render(distinct(0 + ORDINARY_RUNS)))

const fmt = (figures: { medianMs: number; p95Ms: number }) =>
  `median ${figures.medianMs.toFixed(2)} ms, p95 ${figures.p95Ms.toFixed(2)} ms`
console.log()
console.log(`ordinary lesson, previous (inline, on the event loop): ${fmt(inline)}`)
console.log(`ordinary lesson, render worker (post, render, reply):  ${fmt(worker)}`)
console.log(`ordinary lesson, cache hit (hash and lookup):          ${fmt(cached)}`)

// --- Hostile inputs. ---------------------------------------------------------------------------------------
const widths = [26, 10, 20, 22, 0]
const line = (cells: string[]) =>
  cells.map((cell, i) => (i < widths.length - 1 ? cell.padEnd(widths[i]!) : cell)).join(' ')
console.log()
console.log(line(['input', 'chars', 'previous: loop held', 'worker: outcome', 'worker: loop delay max']))
for (const hostile of HOSTILE_MARKDOWN) {
  let inlineCell = 'skipped'
  if (!skipInline) {
    const start = process.hrtime.bigint()
    renderSafeHtml(hostile.markdown)
    inlineCell = `${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(0)} ms`
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  const start = process.hrtime.bigint()
  let outcome: string
  try {
    await renderer.render(hostile.markdown)
    outcome = 'rendered'
  } catch (error) {
    if (!(error instanceof ContentTooComplexError)) throw error
    outcome = 'refused'
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  loopDelay.disable()
  console.log(
    line([
      hostile.name,
      String(hostile.markdown.length),
      inlineCell,
      `${outcome} ${ms.toFixed(0)} ms`,
      `${(loopDelay.max / 1e6).toFixed(1)} ms`,
    ]),
  )
}
await renderer.close()
console.log()
console.log('worker times include starting a fresh worker after each refusal (not counted in the budget)')
