// The benchmark's second baseline: the analyzer's figures the straightforward way — a
// line-by-line readline loop, JSON.parse on every line, durations in a plain array, sort.
// Same rules for what counts and what is skipped; no time window (the benchmark uses none).
// Usage: node --import tsx bench/analyzer/json-parse-baseline.ts FILE
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { SECURITY_EVENTS } from '../../src/logging/events.ts'

const TOP = 10

const file = process.argv[2]
if (file === undefined) throw new Error('usage: json-parse-baseline.ts FILE')

let skipped = 0
let errors = 0
let serverErrors = 0
const durations: number[] = []
const groups = new Map<string, { path: string | null; error: string | null; count: number }>()
const security = new Map<string, number>(SECURITY_EVENTS.map((name) => [name, 0]))

for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  if (line.trim() === '') continue
  let entry: Record<string, any>
  try {
    entry = JSON.parse(line)
  } catch {
    skipped++
    continue
  }
  if (
    typeof entry !== 'object' ||
    entry === null ||
    Array.isArray(entry) ||
    typeof entry.timestamp !== 'string' ||
    typeof entry.event !== 'string' ||
    Number.isNaN(Date.parse(entry.timestamp))
  ) {
    skipped++
    continue
  }
  if (entry.event === 'request_complete') {
    if (!Number.isInteger(entry.status_code) || typeof entry.duration_ms !== 'number' || !(entry.duration_ms >= 0)) {
      skipped++
      continue
    }
    durations.push(entry.duration_ms)
    if (entry.status_code >= 400) {
      errors++
      if (entry.status_code >= 500) serverErrors++
      const path = typeof entry.path === 'string' ? entry.path : null
      const error = typeof entry.error?.message === 'string' ? entry.error.message : null
      const key = JSON.stringify([path, error])
      const group = groups.get(key) ?? { path, error, count: 0 }
      group.count++
      groups.set(key, group)
    }
  } else if (security.has(entry.event)) {
    security.set(entry.event, (security.get(entry.event) ?? 0) + 1)
  }
}

durations.sort((a, b) => a - b)
const n = durations.length
const rank = (percent: number) => (n === 0 ? null : durations[Math.ceil((percent * n) / 100) - 1])
const compare = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1
console.log(
  JSON.stringify({
    total_requests: n,
    error_requests: errors,
    error_rate: n === 0 ? 0 : errors / n,
    server_error_rate: n === 0 ? 0 : serverErrors / n,
    latency_ms: { p50: rank(50), p95: rank(95), p99: rank(99), max: n === 0 ? null : durations[n - 1] },
    top_errors: [...groups.values()]
      .sort((a, b) => b.count - a.count || compare(a.path, b.path) || compare(a.error, b.error))
      .slice(0, TOP),
    security_events: Object.fromEntries(security),
    skipped_lines: skipped,
  }),
)
