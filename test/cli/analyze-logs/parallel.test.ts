import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { analyzeLogsCommand } from '../../../src/cli/analyze-logs/index.ts'
import { ErrorGroups } from '../../../src/cli/analyze-logs/error-groups.ts'
import { LogLineScanner } from '../../../src/cli/analyze-logs/line-scanner.ts'
import { lineAlignedBoundaries, type ReadAt } from '../../../src/cli/analyze-logs/parallel/line-ranges.ts'
import { ParallelScan, type ParallelOptions } from '../../../src/cli/analyze-logs/parallel/index.ts'
import { createStats, type StatsConfig } from '../../../src/cli/analyze-logs/stats-config.ts'
import { createLineGenerator } from '../../../bench/analyzer/generate.ts'
import { eventLine, logText, requestCompleteLine, seededRandom } from '../../support/log-lines.ts'

const readerOf =
  (bytes: Buffer): ReadAt =>
  (buffer, position) =>
    bytes.copy(buffer, 0, position, Math.min(bytes.length, position + buffer.length))

/** The ranges' bytes, in order; each must start at the file's start or just after a newline. */
function rangesOf(bytes: Buffer, pieces: number): Buffer[] {
  const boundaries = lineAlignedBoundaries(readerOf(bytes), bytes.length, pieces)
  assert.equal(boundaries[0], 0)
  assert.equal(boundaries.at(-1), bytes.length)
  for (let i = 1; i < boundaries.length; i++) assert.ok(boundaries[i]! > boundaries[i - 1]! || bytes.length === 0)
  for (const b of boundaries.slice(1, -1)) assert.equal(bytes[b - 1], 0x0a, `a cut at ${b} starts a line`)
  return boundaries.slice(1).map((end, i) => bytes.subarray(boundaries[i], end))
}

describe('cutting a file into ranges of whole lines', () => {
  test('a line straddling a cut stays whole, in the range it starts in', () => {
    const bytes = Buffer.from('aaaa\nbbbbbbbbbbbb\ncc\n')
    // Cuts at 7 and 14 fall inside "bbbbbbbbbbbb": both move to the start of "cc".
    assert.deepEqual(
      rangesOf(bytes, 3).map((r) => r.toString()),
      ['aaaa\nbbbbbbbbbbbb\n', 'cc\n'],
    )
    // A cut exactly at the start of a line stays there.
    assert.deepEqual(lineAlignedBoundaries(readerOf(Buffer.from('abc\ndef\n')), 8, 2), [0, 4, 8])
  })

  test('CRLF: a cut between CR and LF moves past the LF; the CR stays with its line', () => {
    const bytes = Buffer.from('{"a":1}\r\n{"b":2}\r\n{"c":3}\r\n')
    const crAt = bytes.indexOf('\r\n{"b"')
    for (let pieces = 2; pieces <= 9; pieces++) {
      const ranges = rangesOf(bytes, pieces)
      assert.equal(Buffer.concat(ranges).toString(), bytes.toString())
      for (const range of ranges) assert.match(range.toString(), /^(\{"[abc]":\d\}\r\n)+$/)
    }
    assert.ok(crAt > 0)
  })

  test('a file smaller than the number of ranges, a file without a final newline, an empty file', () => {
    assert.deepEqual(
      rangesOf(Buffer.from('x\n'), 8).map((r) => r.toString()),
      ['x\n'],
    )
    assert.deepEqual(
      rangesOf(Buffer.from('a\nb\nc'), 8).map((r) => r.toString()),
      ['a\n', 'b\n', 'c'],
    )
    assert.deepEqual(lineAlignedBoundaries(readerOf(Buffer.alloc(0)), 0, 4), [0])
    // One line longer than every range: one range, the others swallowed.
    const long = Buffer.from(`${'z'.repeat(300_000)}\nend\n`)
    assert.deepEqual(
      rangesOf(long, 16).map((r) => r.length),
      [300_001, 4],
    )
  })

  test('random files and range counts: the ranges always partition the file into its lines', () => {
    const random = seededRandom(5)
    for (let round = 0; round < 300; round++) {
      const lines = Array.from(
        { length: Math.floor(random() * 30) },
        () => 'x'.repeat(Math.floor(random() * 40)) + (random() < 0.3 ? '\r' : ''),
      )
      const text = lines.join('\n') + (random() < 0.5 ? '\n' : '')
      const bytes = Buffer.from(text)
      const ranges = rangesOf(bytes, 1 + Math.floor(random() * 12))
      assert.equal(Buffer.concat(ranges).toString(), text)
    }
  })
})

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-parallel-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(argv: string[], parallel: ParallelOptions) {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString())
        done()
      },
    })
  const code = await analyzeLogsCommand(argv, {
    stdin: Readable.from([]),
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
    now: () => new Date('2026-11-23T12:00:00.000Z'),
    stderrIsTTY: false,
    parallel,
  })
  return { code, stdout, stderr }
}

const ONE_PASS: ParallelOptions = { minBytes: 0, workers: 0 }
const THREE_THREADS: ParallelOptions = { minBytes: 0, workers: 2 }

/** Realistic lines (the benchmark's), with damaged, CRLF and overlong ones among them. */
function mixedLog(lines: number, seed: number): Buffer {
  const next = createLineGenerator(seed, Date.UTC(2026, 10, 23, 10))
  const random = seededRandom(seed)
  const parts: string[] = []
  for (let i = 0; i < lines; i++) {
    const line = next()
    const r = random()
    parts.push(r < 0.01 ? `${line}\r` : r < 0.012 ? line.slice(0, 50) : r < 0.0125 ? '' : line)
  }
  parts.push(`{"timestamp":"2026-11-23T11:00:00.000Z","event":"x","pad":"${'y'.repeat(1024 * 1024 + 10)}"}`)
  return Buffer.from(parts.join('\n')) // no final newline
}

describe('the parallel scan gives exactly the figures of one pass', () => {
  test('the same JSON, percentiles and timeline included, with and without threads', async () => {
    const file = join(dir, 'mixed.log')
    await writeFile(file, mixedLog(30_000, 17))
    for (const argv of [
      ['--json', file],
      ['--json', '--bucket', '10s', '--top', '50', file],
      ['--json', '--bucket', '1m', '--since', '2026-11-23T10:01:00Z', '--until', '2026-11-23T10:03:30Z', file],
    ]) {
      const single = await run(argv, ONE_PASS)
      const threaded = await run(argv, THREE_THREADS)
      assert.equal(threaded.stderr, '')
      assert.equal(threaded.code, single.code)
      assert.deepEqual(JSON.parse(threaded.stdout), JSON.parse(single.stdout), argv.join(' '))
    }
    const report = JSON.parse((await run(['--json', file], THREE_THREADS)).stdout)
    assert.ok(report.total_requests > 14_000)
    assert.ok(report.skipped_lines > 50) // the damaged lines and the overlong one
  })

  test('the workers do their share: the main thread alone holds part of the lines until their figures are merged', async () => {
    const bytes = mixedLog(20_000, 29)
    const file = join(dir, 'shares.log')
    await writeFile(file, bytes)
    const config: StatsConfig = { window: { fromMs: null, toMs: null }, topErrors: 10, bucket: null }
    const { stats } = createStats(config)
    const scan = new ParallelScan(config, THREE_THREADS)
    try {
      // The first file starts the workers; on a small file the main thread may take every range
      // before they are up. For the second they are waiting, and claim ranges as it does.
      for (let pass = 0; pass < 2; pass++) {
        const done = await scan.scanFile(file, file, stats, () => {})
        assert.equal(done?.bytes, bytes.length)
        assert.equal(done?.lines, 20_001)
      }
      const mainShare = stats.summary().totalRequests
      await scan.finish(stats)
      const total = stats.summary().totalRequests
      assert.equal(total, 2 * JSON.parse((await run(['--json', file], ONE_PASS)).stdout).total_requests)
      assert.ok(mainShare < total, `the main thread read ${mainShare} of ${total} requests`)
    } finally {
      await scan.close()
    }
  })

  test('the HTML report too: the automatic timeline of every thread merged', async () => {
    const file = join(dir, 'mixed-html.log')
    await writeFile(file, mixedLog(20_000, 23))
    const pages: string[] = []
    for (const parallel of [ONE_PASS, THREE_THREADS]) {
      const html = join(dir, `report-${parallel.workers}.html`)
      await run(['--html', html, file], parallel)
      const { readFile } = await import('node:fs/promises')
      pages.push((await readFile(html, 'utf8')).replace(/Generated [^.]*\./, ''))
    }
    assert.equal(pages[0], pages[1])
  })

  test('small files, gzip files and standard input are read in one pass; several files mix both', async () => {
    const big = join(dir, 'big.log')
    const gz = join(dir, 'old.log.gz')
    await writeFile(big, mixedLog(8000, 3))
    await writeFile(gz, gzipSync(mixedLog(3000, 4)))
    const single = await run(['--json', big, gz], ONE_PASS)
    const threaded = await run(['--json', big, gz], { minBytes: 1024 * 1024, workers: 2 })
    assert.deepEqual(JSON.parse(threaded.stdout), JSON.parse(single.stdout))
  })

  test('a timeline too long is refused from whichever thread meets it', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) =>
      requestCompleteLine({ at: new Date(Date.UTC(2026, 10, 23) + i * 1000).toISOString() }),
    )
    const file = join(dir, 'long.log')
    await writeFile(file, logText(lines))
    const { code, stdout, stderr } = await run(['--json', '--bucket', '1s', file], THREE_THREADS)
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /more than 10,000 buckets/)
  })
})

describe('merging the figures of parts', () => {
  const config: StatsConfig = {
    window: { fromMs: null, toMs: null },
    topErrors: 20,
    bucket: 60_000,
    latencyExactCapacity: 500,
  }

  function statsOf(lines: readonly string[]) {
    const { stats } = createStats(config)
    const scanner = new LogLineScanner()
    for (const line of lines) stats.add(scanner.scan(Buffer.from(`${line}\n`), 0, Buffer.byteLength(line)))
    return stats
  }

  test('LogStats: parts merged equal one pass, exact below the capacity and histogram above it alike', () => {
    const random = seededRandom(9)
    const lines = Array.from({ length: 1200 }, (_, i) => {
      const at = new Date(Date.UTC(2026, 10, 23, 10) + i * 700).toISOString()
      if (random() < 0.05) return eventLine('auth_failure', at)
      if (random() < 0.02) return 'not json'
      const status = random() < 0.1 ? 500 : 200
      return requestCompleteLine({ at, status, durationMs: Math.round(random() * 5000) / 10 })
    })
    for (const count of [300, 1200]) {
      const part = lines.slice(0, count)
      const whole = statsOf(part)
      for (const cuts of [[0], [count / 2], [count / 3, (2 * count) / 3]]) {
        const bounds = [0, ...cuts.map(Math.floor), count]
        const [first, ...rest] = bounds.slice(1).map((end, i) => statsOf(part.slice(bounds[i], end)))
        for (const other of rest) first!.merge(other.toState())
        assert.deepEqual(first!.summary(), whole.summary(), `${count} lines cut at ${cuts}`)
        assert.deepEqual(first!.toState().timeline, whole.toState().timeline)
      }
      assert.equal(whole.summary().latencyExact, count * 0.9 < 500)
    }
  })

  test('error groups past their capacity: merged counts are low by at most the stated bound', () => {
    const random = seededRandom(4)
    const pairs = Array.from({ length: 5000 }, () => `/p${Math.floor(random() ** 3 * 400)}`)
    const exact = new Map<string, number>()
    for (const path of pairs) exact.set(path, (exact.get(path) ?? 0) + 1)
    const parts = [new ErrorGroups(50), new ErrorGroups(50), new ErrorGroups(50)]
    pairs.forEach((path, i) => parts[i % 3]!.add(path, 'm'))
    const [merged, ...others] = parts
    for (const other of others) merged!.merge(other.toState())
    const bound = merged!.maxUndercount
    assert.ok(bound > 0 && bound <= 5000 / 51 + 1, `bound ${bound}`)
    for (const group of merged!.top(50)) {
      const truth = exact.get(group.path!)!
      assert.ok(group.count <= truth && group.count >= truth - bound, `${group.path}: ${group.count} of ${truth}`)
    }
    // Every pair more frequent than the bound is listed.
    const listed = new Set(merged!.top(50).map((g) => g.path))
    for (const [path, count] of exact) if (count > bound) assert.ok(listed.has(path), path)
  })
})
