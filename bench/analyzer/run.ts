// Benchmark of `lectern analyze-logs` (CONTRACT §8) against two baselines computing the same
// figures — a jq pipeline and a line-by-line JSON.parse script — and `cat > /dev/null` as the
// I/O floor, on generated realistic logs. Every command runs pinned to one core when taskset
// exists; wall time is the median of the runs, peak RSS the largest.
//
// Usage: node bench/analyzer/run.ts [--lines N] [--runs R] [--jq-runs R] [--keep]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SECURITY_EVENTS } from '../../src/logging/events.ts'
import { generateLogFile } from './generate.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const here = (file: string) => join(root, 'bench', 'analyzer', file)
const TIME = '/usr/bin/time'
const JQ = '/usr/bin/jq'
const RUN_TIMEOUT_MS = 15 * 60 * 1000

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name)
  const value = index === -1 ? undefined : Number(process.argv[index + 1])
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback
}

const lineCount = flag('--lines', 1_000_000)
const runs = flag('--runs', 3)
const jqRuns = flag('--jq-runs', 1)
const keep = process.argv.includes('--keep')

const hasTime = existsSync(TIME)
const hasTaskset = spawnSync('taskset', ['--version']).status === 0
const hasJq = existsSync(JQ)

interface Case {
  name: string
  command: string[]
  runs: number
  /** Whether stdout is the analyzer's figures, to be compared with the others. */
  figures: boolean
}

interface Measurement {
  wallS: number
  cpuS: number
  peakRssKb: number | null
  stdout: string
}

function measure(command: string[]): Measurement {
  const pinned = hasTaskset ? ['taskset', '-c', '0', ...command] : command
  const timeFile = join(workDir, 'time.txt')
  const argv = hasTime ? [TIME, '-f', '%e %U %S %M', '-o', timeFile, ...pinned] : pinned
  const started = performance.now()
  const result = spawnSync(argv[0] as string, argv.slice(1), {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    timeout: RUN_TIMEOUT_MS,
    encoding: 'utf8',
  })
  const elapsedS = (performance.now() - started) / 1000
  if (result.error) throw result.error
  // The analyzer exits 1 when an alert fires; anything else above that is a failure.
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

const workDir = mkdtempSync(join(tmpdir(), 'lectern-bench-analyzer-'))
try {
  const logFile = join(workDir, 'lectern.log')
  const generatedAt = performance.now()
  const generated = await generateLogFile(logFile, lineCount)
  console.log(
    `Generated ${lineCount.toLocaleString('en-US')} lines, ${(generated.bytes / 1e6).toFixed(1)} MB (${Math.round(generated.bytes / lineCount)} bytes a line) in ${((performance.now() - generatedAt) / 1000).toFixed(1)} s`,
  )
  console.log(
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, ${hasJq ? spawnSync(JQ, ['--version'], { encoding: 'utf8' }).stdout.trim() : 'no jq'}; ${hasTaskset ? 'every command pinned to one core (taskset -c 0)' : 'not pinned (no taskset)'}; ${hasTime ? 'measured by /usr/bin/time' : 'peak RSS not measured (no /usr/bin/time)'}`,
  )
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', logFile]) // page cache warm for everyone
  const loadBefore = loadavg()[0] ?? 0

  // Node strips the TypeScript itself (docs/adr/0014), as bin/lectern runs it: no loader to time.
  const node = [process.execPath]
  const cases: Case[] = [
    {
      name: 'cat > /dev/null (I/O floor)',
      command: ['sh', '-c', 'cat "$1" > /dev/null', 'sh', logFile],
      runs,
      figures: false,
    },
    {
      name: 'node start-up, empty input',
      command: [...node, here('analyze-entry.ts'), '--json', '/dev/null'],
      runs,
      figures: false,
    },
    {
      name: 'analyzer (node)',
      command: [...node, here('analyze-entry.ts'), '--json', logFile],
      runs,
      figures: true,
    },
  ]
  if (existsSync(join(root, 'bin', 'lectern'))) {
    cases.push({
      name: 'bin/lectern analyze-logs',
      command: [join(root, 'bin', 'lectern'), 'analyze-logs', '--json', logFile],
      runs,
      figures: true,
    })
  }
  cases.push({
    name: 'JSON.parse per line (node)',
    command: [...node, here('json-parse-baseline.ts'), logFile],
    runs,
    figures: true,
  })
  if (hasJq) {
    // The security event names come from src/logging/events.ts, as for the other two tools.
    const pipeline = `${JQ} -nRc --argjson security "$4" -f "$1" "$3" | ${JQ} -sc --argjson top 10 --argjson security "$4" -f "$2"`
    cases.push({
      name: 'jq pipeline',
      command: [
        'sh',
        '-c',
        pipeline,
        'sh',
        here('jq-extract.jq'),
        here('jq-summarise.jq'),
        logFile,
        JSON.stringify(SECURITY_EVENTS),
      ],
      runs: jqRuns,
      figures: true,
    })
  }

  const results: Array<{
    case: Case
    wallS: number
    cpuS: number
    peakRssKb: number | null
    figures: Record<string, unknown> | null
  }> = []
  for (const c of cases) {
    const measurements: Measurement[] = []
    for (let run = 0; run < c.runs; run++) measurements.push(measure(c.command))
    const rss = measurements.map((m) => m.peakRssKb).filter((v): v is number => v !== null)
    const figures = c.figures ? (JSON.parse(measurements[0]!.stdout) as Record<string, unknown>) : null
    results.push({
      case: c,
      wallS: median(measurements.map((m) => m.wallS)),
      cpuS: median(measurements.map((m) => m.cpuS)),
      peakRssKb: rss.length > 0 ? Math.max(...rss) : null,
      figures,
    })
    process.stderr.write(`  measured: ${c.name} (${c.runs} run${c.runs > 1 ? 's' : ''})\n`)
  }

  const jq = results.find((r) => r.case.name === 'jq pipeline')
  const header = ['', 'wall s', 'CPU s', 'lines/s', 'peak RSS', 'jq wall ÷', 'jq CPU ÷']
  const rows = results.map((r) => [
    r.case.name,
    r.wallS.toFixed(2),
    Number.isNaN(r.cpuS) ? 'n/a' : r.cpuS.toFixed(2),
    r.case.name.includes('start-up') ? '—' : Math.round(lineCount / r.wallS).toLocaleString('en-US'),
    r.peakRssKb === null ? 'n/a' : `${(r.peakRssKb / 1024).toFixed(0)} MB`,
    jq === undefined || r === jq || r.case.name.includes('start-up') ? '' : `${(jq.wallS / r.wallS).toFixed(1)}×`,
    jq === undefined || r === jq || r.case.name.includes('start-up') || Number.isNaN(r.cpuS)
      ? ''
      : `${(jq.cpuS / r.cpuS).toFixed(1)}×`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const format = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ')
  console.log(`\n${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}`)
  for (const row of rows) console.log(format(row))

  // On a shared machine wall time includes waiting for the core; CPU time (user + sys) does not.
  console.log(
    `Load average (1 min) ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after, on ${cpus().length} cores.`,
  )

  const startup = results.find((r) => r.case.name.includes('start-up'))
  const analyzer = results.find((r) => r.case.name === 'analyzer (node)')
  if (startup && analyzer) {
    const workS = analyzer.wallS - startup.wallS
    const workCpuS = analyzer.cpuS - startup.cpuS
    console.log(
      `Analyzer without the start-up: ${workS.toFixed(2)} s wall, ${workCpuS.toFixed(2)} s CPU (${(generated.bytes / 1e6 / workCpuS).toFixed(0)} MB/s of CPU time)`,
    )
  }

  // The figures every tool printed must agree, or the timings compare different work.
  const keys = [
    'total_requests',
    'error_requests',
    'error_rate',
    'server_error_rate',
    'latency_ms',
    'top_errors',
    'security_events',
    'skipped_lines',
  ]
  const reference = analyzer?.figures
  const disagreements = results
    .filter((r) => r.figures !== null && r !== analyzer)
    .flatMap((r) =>
      keys
        .filter((k) => JSON.stringify(r.figures![k]) !== JSON.stringify(reference?.[k]))
        .map((k) => `${r.case.name}: ${k}`),
    )
  console.log(
    disagreements.length === 0 ? 'Figures agree across every tool.' : `Figures DISAGREE: ${disagreements.join('; ')}`,
  )
  if (reference) {
    const { total_requests, error_rate, latency_ms, skipped_lines } = reference as Record<string, unknown>
    console.log(
      `(total_requests ${total_requests}, error_rate ${Number(error_rate).toFixed(4)}, latency_ms ${JSON.stringify(latency_ms)}, skipped_lines ${skipped_lines})`,
    )
  }
  if (disagreements.length > 0) process.exitCode = 1
} finally {
  if (keep) console.log(`Kept ${workDir}`)
  else rmSync(workDir, { recursive: true, force: true })
}
