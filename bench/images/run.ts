/**
 * Image validation figures: accept-path latency, reject-path latency, memory while bombs are
 * refused, and ten concurrent uploads. Each figure is printed beside a baseline from the same
 * run, so the numbers mean something on whatever machine runs this.
 *
 *   node --import tsx bench/images/run.ts
 *
 * Loops are bounded; the whole run takes well under a minute.
 */
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import sharp from 'sharp'
import { createImageProcessor, DEFAULT_IMAGE_LIMITS, ImageRejectedError } from '../../src/images/index.ts'
import { sniffImage } from '../../src/images/sniff.ts'
import {
  imageCorpusDir,
  imageCorpusPresent,
  makeAnimatedGifFrameBomb,
  makeGif,
  makeGifFrameOutsideScreen,
  makeGifWithFrames,
  makeJpeg,
  makeJpegHeaderClaiming,
  makePng,
  makePngHeaderClaiming,
  makeZeroPngBomb,
} from '../../test/support/images.ts'

const ACCEPT_RUNS = 60
const REJECT_RUNS = 5_000
const BOMB_ROUNDS = 200
const CONCURRENT_UPLOADS = 10

const MB = 1024 * 1024
const processor = createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS })

function percentile(sortedMs: number[], fraction: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1)]!
}

async function timeRuns(runs: number, task: () => Promise<unknown>): Promise<{ medianMs: number; p95Ms: number }> {
  for (let i = 0; i < Math.min(5, runs); i++) await task() // warm-up: first calls load codecs
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    await task()
    samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  samples.sort((a, b) => a - b)
  return { medianMs: percentile(samples, 0.5), p95Ms: percentile(samples, 0.95) }
}

const refused = (input: Buffer) => async () => {
  try {
    await processor.process(input)
  } catch (error) {
    if (error instanceof ImageRejectedError) return
    throw error
  }
  throw new Error('expected a rejection')
}

const rows: string[][] = []
function report(what: string, figures: { medianMs: number; p95Ms: number }, baseline: string) {
  rows.push([what, figures.medianMs.toFixed(2), figures.p95Ms.toFixed(2), baseline])
}

console.log(
  `node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, ${cpus().length} CPU(s): ${cpus()[0]?.model ?? 'unknown'}`,
)

// --- Accept path: the whole of process(), sniff to re-encoded bytes. -----------------------------
const jpeg = await makeJpeg(1024, 768, { noise: true })
const png = await makePng(1024, 768, { alpha: true })
const gif = await makeGif(1024, 768)
const bareResize = (input: Buffer) => () =>
  sharp(input).rotate().resize({ width: 512, height: 512, fit: 'inside' }).jpeg({ quality: 85 }).toBuffer()

const bareJpeg = await timeRuns(ACCEPT_RUNS, bareResize(jpeg))
report(
  `accept 1024×768 JPEG (${(jpeg.length / 1024).toFixed(0)} KB)`,
  await timeRuns(ACCEPT_RUNS, () => processor.process(jpeg)),
  `bare sharp resize: median ${bareJpeg.medianMs.toFixed(2)} ms`,
)
report('accept 1024×768 PNG (RGBA)', await timeRuns(ACCEPT_RUNS, () => processor.process(png)), '')
report('accept 1024×768 GIF', await timeRuns(ACCEPT_RUNS, () => processor.process(gif)), '')

// --- Reject paths: refused by the bytes or the header, never decoded. ------------------------------
const claim = makePngHeaderClaiming(100_000, 100_000)
const sniffOnly = await timeRuns(REJECT_RUNS, async () => sniffImage(claim))
report(
  'reject PNG header claiming 100000×100000',
  await timeRuns(REJECT_RUNS, refused(claim)),
  `sniff alone: median ${sniffOnly.medianMs.toFixed(4)} ms`,
)
report(
  'reject JPEG SOF claiming 64250×64250',
  await timeRuns(REJECT_RUNS, refused(await makeJpegHeaderClaiming(64_250, 64_250))),
  '',
)
report('reject 30000×30000 PNG bomb (real, 110 KB)', await timeRuns(REJECT_RUNS, refused(makeZeroPngBomb())), '')
report(
  'reject GIF frame bomb (20000×20000 frame)',
  await timeRuns(REJECT_RUNS, refused(makeAnimatedGifFrameBomb())),
  '',
)
report('reject GIF of 40,000 frames', await timeRuns(500, refused(makeGifWithFrames(40_000))), 'stops at frame 1,001')
report(
  'reject BMP (unsupported format)',
  await timeRuns(REJECT_RUNS, refused(Buffer.from('BM\x00\x00\x00\x00', 'latin1'))),
  '',
)

// --- Memory while bombs are refused. -----------------------------------------------------------------
const bombs: Buffer[] = [
  claim,
  makeZeroPngBomb(),
  makeAnimatedGifFrameBomb(),
  makeGifFrameOutsideScreen(),
  makeGifWithFrames(40_000),
  await makeJpegHeaderClaiming(64_250, 64_250),
]
if (imageCorpusPresent()) {
  for (const name of [
    'fuzzdb/uber.gif',
    'fuzzdb/lottapixel.jpg',
    'sharp/65536-uint32-limit.png',
    'pillow/decompression_bomb.gif',
    'pillow/decompression_bomb_extents.gif',
  ]) {
    bombs.push(readFileSync(join(imageCorpusDir(), name)))
  }
}
const idleRss = process.memoryUsage().rss
let bombPeakRss = idleRss
for (let round = 0; round < BOMB_ROUNDS; round++) {
  for (const bomb of bombs) {
    await refused(bomb)()
    bombPeakRss = Math.max(bombPeakRss, process.memoryUsage().rss)
  }
}

// Baseline: what one legitimate decode of a full-size 4096×4096 upload costs.
const big = await makePng(4096, 4096, { alpha: true })
const beforeBigRss = process.memoryUsage().rss
let bigPeakRss = beforeBigRss
const sampler = setInterval(() => (bigPeakRss = Math.max(bigPeakRss, process.memoryUsage().rss)), 2)
await processor.process(big)
clearInterval(sampler)
bigPeakRss = Math.max(bigPeakRss, process.memoryUsage().rss)

// --- Ten uploads at once: wall time, memory, and whether the event loop stayed free. --------------------
const loopDelay = monitorEventLoopDelay({ resolution: 1 })
const beforeBurstRss = process.memoryUsage().rss
let burstPeakRss = beforeBurstRss
const burstSampler = setInterval(() => (burstPeakRss = Math.max(burstPeakRss, process.memoryUsage().rss)), 2)
loopDelay.enable()
const burstStart = process.hrtime.bigint()
await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, () => processor.process(jpeg)))
const burstMs = Number(process.hrtime.bigint() - burstStart) / 1e6
loopDelay.disable()
clearInterval(burstSampler)

// Baseline: the same burst straight into sharp, with no validation and no queue.
const bareLoopDelay = monitorEventLoopDelay({ resolution: 1 })
bareLoopDelay.enable()
const bareStart = process.hrtime.bigint()
await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, () => bareResize(jpeg)()))
const bareBurstMs = Number(process.hrtime.bigint() - bareStart) / 1e6
bareLoopDelay.disable()

// --- Report. ----------------------------------------------------------------------------------------------
const widths = [44, 12, 10, 0]
const line = (cells: string[]) => cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join(' ')
console.log()
console.log(line(['path', 'median ms', 'p95 ms', 'baseline (same run)']))
for (const row of rows) console.log(line(row))
console.log()
console.log(
  `memory: idle RSS ${(idleRss / MB).toFixed(1)} MB; peak while refusing ${bombs.length} bombs × ${BOMB_ROUNDS} rounds: +${((bombPeakRss - idleRss) / MB).toFixed(1)} MB`,
)
console.log(
  `memory baseline: one accepted 4096×4096 RGBA PNG decode: +${((bigPeakRss - beforeBigRss) / MB).toFixed(1)} MB peak`,
)
console.log(
  `${CONCURRENT_UPLOADS} concurrent 1024×768 JPEG uploads: ${burstMs.toFixed(0)} ms in all, +${((burstPeakRss - beforeBurstRss) / MB).toFixed(1)} MB peak RSS, ` +
    `event-loop delay max ${(loopDelay.max / 1e6).toFixed(1)} ms (p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms)`,
)
console.log(
  `baseline, the same burst straight into sharp: ${bareBurstMs.toFixed(0)} ms in all, ` +
    `event-loop delay max ${(bareLoopDelay.max / 1e6).toFixed(1)} ms (p99 ${(bareLoopDelay.percentile(99) / 1e6).toFixed(1)} ms)`,
)
