// Benchmark of `lectern analyze-logs` (CONTRACT §8) against the seed analyzer
// (/work/shared/baselines/seed_analyze_logs.py: Python's standard library, json.loads per line)
// and a line-by-line JSON.parse script, with `cat > /dev/null` as the I/O floor, on generated
// realistic logs: by default a million requests (two million lines, ~650 MB). bin/lectern runs
// as it ships, on every core, and once more pinned to one core (taskset -c 0) to show what the
// parallel scan brings. Every tool must print the same figures before any is timed. Wall time
// is the median of the runs, CPU time (user + sys) its median too, peak RSS the largest.
//
// Usage: node bench/analyzer/run.ts [--lines N] [--runs R] [--baseline-runs R] [--keep]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateLogFile } from './generate.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const here = (file: string) => join(root, 'bench', 'analyzer', file)
const TIME = '/usr/bin/time'
// Debian's Python: another python3 may come first on PATH.
const PYTHON = '/usr/bin/python3'
const SEED_ANALYZER = '/work/shared/baselines/seed_analyze_logs.py'
const RUN_TIMEOUT_MS = 15 * 60 * 1000
/** The aims this benchmark checks (docs/benchmarks.md). */
const AIM = { wallS: 1.5, peakRssMb: 200, timesFasterThanSeed: 6 }

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name)
  const value = index === -1 ? undefined : Number(process.argv[index + 1])
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback
}

const lineCount = flag('--lines', 2_000_000)
const runs = flag('--runs', 3)
const baselineRuns = flag('--baseline-runs', 3)
const keep = process.argv.includes('--keep')

const hasTime = existsSync(TIME)
const hasTaskset = spawnSync('taskset', ['--version']).status === 0
const hasSeed = existsSync(PYTHON) && existsSync(SEED_ANALYZER)

interface Case {
  name: string
  command: string[]
  runs: number
  /** How to read the figures from stdout, to compare them with the others'; null: not a tool. */
  figures: ((stdout: string) => Figures) | null
}

interface Measurement {
  wallS: number
  cpuS: number
  peakRssKb: number | null
  stdout: string
}

/** The figures every tool prints, in one comparable form. */
type Figures = Record<string, unknown>

function measure(command: string[]): Measurement {
  const timeFile = join(workDir, 'time.txt')
  const argv = hasTime ? [TIME, '-f', '%e %U %S %M', '-o', timeFile, ...command] : command
  const started = performance.now()
  const result = spawnSync(argv[0] as string, argv.slice(1), {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    timeout: RUN_TIMEOUT_MS,
    encoding: 'utf8',
  })
  const elapsedS = (performance.now() - started) / 1000
  if (result.error) throw result.error
  // The analyzers exit 1 when an alert fires; anything else above that is a failure.
  if (result.status !== 0 && result.status !== 1)
    throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`)
  if (!hasTime) return { wallS: elapsedS, cpuS: NaN, peakRssKb: null, stdout: result.stdout }
  const [wall, user, sys, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
  return {
    wallS: wall as number,
    cpuS: (user as number) + (sys as number),
    peakRssKb: rss as number,
    stdout: result.stdout,
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

/**
 * bin/lectern's --json, in the seed analyzer's conventions: rates rounded to 6 digits, and only
 * the security events the seed knows that happened (it predates the password-reset and content
 * events, and lists only non-zero counts).
 */
function lecternFigures(knownSecurityEvents: readonly string[]) {
  return (stdout: string): Figures => {
    const report = JSON.parse(stdout) as Record<string, any>
    const security = Object.fromEntries(
      Object.entries(report.security_events as Record<string, number>).filter(
        ([name, count]) => count > 0 && knownSecurityEvents.includes(name),
      ),
    )
    return {
      total_requests: report.total_requests,
      error_requests: report.error_requests,
      error_rate: Math.round(report.error_rate * 1e6) / 1e6,
      server_error_rate: Math.round(report.server_error_rate * 1e6) / 1e6,
      latency_ms: report.latency_ms,
      top_errors: report.top_errors,
      security_events: sortKeys(security),
      skipped_lines: report.skipped_lines,
    }
  }
}

function seedFigures(stdout: string): Figures {
  const report = JSON.parse(stdout) as Record<string, any>
  return {
    total_requests: report.total_requests,
    error_requests: report.error_requests,
    error_rate: report.error_rate,
    server_error_rate: report.server_error_rate,
    latency_ms: report.latency_ms,
    top_errors: report.top_errors,
    security_events: sortKeys(report.security_events),
    skipped_lines: report.skipped_lines,
  }
}

function sortKeys(object: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The names the seed analyzer counts, read from its source: its SECURITY_EVENTS tuple. */
function seedSecurityEvents(): string[] {
  const source = readFileSync(SEED_ANALYZER, 'utf8')
  const tuple = /SECURITY_EVENTS = \(([^)]*)\)/.exec(source)?.[1] ?? ''
  return [...tuple.matchAll(/"([a-z_]+)"/g)].map((m) => m[1] as string)
}

const workDir = mkdtempSync(join(tmpdir(), 'lectern-bench-analyzer-'))
try {
  const logFile = join(workDir, 'lectern.log')
  const generatedAt = performance.now()
  const generated = await generateLogFile(logFile, lineCount)
  console.log(
    `Generated ${lineCount.toLocaleString('en-US')} lines (${(lineCount / 2).toLocaleString('en-US')} requests), ${(generated.bytes / 1e6).toFixed(1)} MB (${Math.round(generated.bytes / lineCount)} bytes a line) in ${((performance.now() - generatedAt) / 1000).toFixed(1)} s`,
  )
  const python = hasSeed ? spawnSync(PYTHON, ['--version'], { encoding: 'utf8' }).stdout.trim() : 'no python3'
  console.log(
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, ${python}; ${hasTime ? 'measured by /usr/bin/time' : 'peak RSS not measured (no /usr/bin/time)'}`,
  )
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', logFile]) // page cache warm for everyone
  const loadBefore = loadavg()[0] ?? 0

  const lectern = [join(root, 'bin', 'lectern'), 'analyze-logs', '--json', logFile]
  const known = hasSeed ? seedSecurityEvents() : []
  const cases: Case[] = [
    {
      name: 'cat > /dev/null (I/O floor)',
      command: ['sh', '-c', 'cat "$1" > /dev/null', 'sh', logFile],
      runs,
      figures: null,
    },
    {
      // Node strips the TypeScript itself (docs/adr/0014), as bin/lectern runs it.
      name: 'node start-up, empty input',
      command: [process.execPath, here('analyze-entry.ts'), '--json', '/dev/null'],
      runs,
      figures: null,
    },
    { name: 'bin/lectern analyze-logs', command: lectern, runs, figures: lecternFigures(known) },
  ]
  if (hasTaskset) {
    cases.push({
      name: 'bin/lectern, one core (taskset)',
      command: ['taskset', '-c', '0', ...lectern],
      runs,
      figures: lecternFigures(known),
    })
  }
  cases.push({
    name: 'JSON.parse per line (node)',
    command: [process.execPath, here('json-parse-baseline.ts'), logFile],
    runs: baselineRuns,
    figures: lecternFigures(known),
  })
  if (hasSeed) {
    cases.push({
      name: 'seed analyzer (python3)',
      command: [PYTHON, SEED_ANALYZER, '--json', logFile],
      runs: baselineRuns,
      figures: seedFigures,
    })
  }

  // The figures every tool prints must agree, or the timings compare different work: one run
  // of each first, before anything is timed.
  const reference = lecternFigures(known)(measure(lectern).stdout)
  const disagreements: string[] = []
  for (const c of cases) {
    if (c.figures === null || c.command === lectern) continue
    const figures = c.figures(measure(c.command).stdout)
    for (const key of Object.keys(reference)) {
      if (JSON.stringify(figures[key]) !== JSON.stringify(reference[key])) disagreements.push(`${c.name}: ${key}`)
    }
  }
  if (disagreements.length > 0) {
    console.log(`Figures DISAGREE: ${disagreements.join('; ')}`)
    process.exitCode = 1
  } else {
    console.log(`Figures agree across every tool: ${JSON.stringify(reference)}`)
  }

  const results: Array<{ case: Case; wallS: number; cpuS: number; peakRssKb: number | null }> = []
  for (const c of cases) {
    const measurements: Measurement[] = []
    for (let run = 0; run < c.runs; run++) measurements.push(measure(c.command))
    const rss = measurements.map((m) => m.peakRssKb).filter((v): v is number => v !== null)
    results.push({
      case: c,
      wallS: median(measurements.map((m) => m.wallS)),
      cpuS: median(measurements.map((m) => m.cpuS)),
      peakRssKb: rss.length > 0 ? Math.max(...rss) : null,
    })
    process.stderr.write(`  measured: ${c.name} (${c.runs} run${c.runs > 1 ? 's' : ''})\n`)
  }

  const seed = results.find((r) => r.case.name.startsWith('seed analyzer'))
  const notATool = (r: (typeof results)[number]) => r.case.figures === null
  const header = ['', 'wall s', 'CPU s', 'lines/s (wall)', 'peak RSS', 'seed wall ÷', 'seed CPU ÷']
  const rows = results.map((r) => [
    r.case.name,
    r.wallS.toFixed(2),
    Number.isNaN(r.cpuS) ? 'n/a' : r.cpuS.toFixed(2),
    r.case.name.includes('start-up') ? '—' : Math.round(lineCount / r.wallS).toLocaleString('en-US'),
    r.peakRssKb === null ? 'n/a' : `${(r.peakRssKb / 1024).toFixed(0)} MB`,
    seed === undefined || r === seed || notATool(r) ? '' : `${(seed.wallS / r.wallS).toFixed(1)}×`,
    seed === undefined || r === seed || notATool(r) || Number.isNaN(r.cpuS)
      ? ''
      : `${(seed.cpuS / r.cpuS).toFixed(1)}×`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const format = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ')
  console.log(`\n${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}`)
  for (const row of rows) console.log(format(row))

  // On a shared machine wall time includes waiting for a core; CPU time (user + sys) does not.
  console.log(
    `Load average (1 min) ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after, on ${cpus().length} cores.`,
  )
  const ours = results.find((r) => r.case.command === lectern)
  if (ours !== undefined) {
    const ratio = seed === undefined ? NaN : seed.wallS / ours.wallS
    const rssMb = ours.peakRssKb === null ? NaN : ours.peakRssKb / 1024
    const verdict = (met: boolean) => (met ? 'met' : 'MISSED')
    console.log(
      `Aims for bin/lectern: wall ${ours.wallS.toFixed(2)} s < ${AIM.wallS} s ${verdict(ours.wallS < AIM.wallS)}; ` +
        `peak RSS ${rssMb.toFixed(0)} MB < ${AIM.peakRssMb} MB ${verdict(rssMb < AIM.peakRssMb)}; ` +
        `${ratio.toFixed(1)}× faster than the seed analyzer (≥ ${AIM.timesFasterThanSeed}×) ${verdict(ratio >= AIM.timesFasterThanSeed)}.`,
    )
  }
} finally {
  if (keep) console.log(`Kept ${workDir}`)
  else rmSync(workDir, { recursive: true, force: true })
}
