// CPU time (user + sys, from the child's resource usage) of starting the command line, against
// bare Node in the same run: `bin/lectern --help`, `analyze-logs` on an empty input, `node -e 0`.
// Rounds are interleaved (the order reversed every other round) and each figure is a median.
// Usage: node bench/cli-startup/run.ts [--rounds N]
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const BIN = fileURLToPath(new URL('../../bin/lectern', import.meta.url))
const AIM_S = 0.15

interface Case {
  name: string
  args: string[]
}

const CASES: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'lectern --help', args: [BIN, '--help'] },
  { name: 'lectern analyze-logs, empty input', args: [BIN, 'analyze-logs'] },
]

/**
 * Runs one case to completion, its standard input empty; its CPU seconds, from bash's `times`
 * (the resource usage of bash's children, in milliseconds), so nothing in this process is counted.
 */
function cpuSeconds(c: Case): number {
  const script = '"$@" </dev/null >/dev/null || exit 1; times'
  const run = spawnSync('bash', ['-c', script, 'bash', process.execPath, ...c.args], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`${c.name} failed: ${run.stderr}`)
  const children = run.stdout.trim().split('\n')[1] ?? ''
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(([, m, s]) => Number(m) * 60 + Number(s))
  if (seconds.length !== 2) throw new Error(`unexpected times output: ${run.stdout}`)
  return seconds[0]! + seconds[1]!
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } })
const rounds = Number(values.rounds)
const samples = new Map<string, number[]>(CASES.map((c) => [c.name, []]))
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? CASES : [...CASES].reverse()
  for (const c of order) samples.get(c.name)!.push(cpuSeconds(c))
}

const bare = median(samples.get('node -e 0')!)
console.log(`Node ${process.version}, ${rounds} rounds; CPU seconds (user + sys), medians`)
console.log('| command | CPU s | over bare Node s | aim (≤ 0.15 s over) |')
console.log('| --- | ---: | ---: | --- |')
for (const c of CASES) {
  const m = median(samples.get(c.name)!)
  const over = m - bare
  const verdict = c.name === 'node -e 0' ? '' : over <= AIM_S ? 'met' : 'missed'
  console.log(`| ${c.name} | ${m.toFixed(3)} | ${c.name === 'node -e 0' ? '' : over.toFixed(3)} | ${verdict} |`)
}
