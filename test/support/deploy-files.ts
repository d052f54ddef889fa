import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The monitoring files shipped under deploy/ (CONTRACT §13), and what the tests read from them. */
export const ALERTS_PATH = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url))
export const ALERT_TESTS_PATH = fileURLToPath(new URL('../../deploy/prometheus/alerts.test.yml', import.meta.url))
export const DASHBOARD_PATH = fileURLToPath(new URL('../../deploy/grafana/lectern.json', import.meta.url))

export interface AlertRule {
  name: string
  expr: string
  /** The rule's own lines, as written. */
  text: string
}

/**
 * The alerting rules of alerts.yml, read line by line: each `- alert:` item and its `expr`, inline
 * or a block scalar (`|`). Enough for the file this repository writes, without a YAML parser;
 * promtool (test/deploy/prometheus.test.ts) checks that the file is what Prometheus reads.
 */
export function alertRules(path = ALERTS_PATH): AlertRule[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const rules: AlertRule[] = []
  for (let i = 0; i < lines.length; i++) {
    const start = /^(\s*)- alert: (\S+)\s*$/.exec(lines[i]!)
    if (!start) continue
    const itemIndent = start[1]!.length
    let end = i + 1
    while (end < lines.length && !isItemEnd(lines[end]!, itemIndent)) end++
    const own = lines.slice(i, end)
    rules.push({ name: start[2]!, expr: exprOf(own), text: own.join('\n') })
  }
  return rules
}

/** A line at or left of the item's dash that is not blank or a comment ends the item. */
function isItemEnd(line: string, itemIndent: number): boolean {
  if (/^\s*(#.*)?$/.test(line)) return false
  return line.length - line.trimStart().length <= itemIndent
}

function exprOf(lines: string[]): string {
  const at = lines.findIndex((line) => /^\s*expr:/.test(line))
  if (at === -1) throw new Error(`no expr in:\n${lines.join('\n')}`)
  const line = lines[at]!
  const value = line.slice(line.indexOf('expr:') + 'expr:'.length).trim()
  if (value !== '|' && value !== '>' && value !== '|-' && value !== '>-') return value.replace(/^(['"])(.*)\1$/, '$2')
  const keyIndent = line.length - line.trimStart().length
  const body: string[] = []
  for (const next of lines.slice(at + 1)) {
    if (next.trim() !== '' && next.length - next.trimStart().length <= keyIndent) break
    body.push(next.trim())
  }
  return body.join(' ').trim()
}

interface DashboardPanel {
  title?: string
  type?: string
  targets?: Array<{ expr?: string }>
  panels?: DashboardPanel[]
}

export interface Dashboard {
  panels: DashboardPanel[]
  templating: { list: Array<{ name: string; type: string; query?: unknown; multi?: boolean; includeAll?: boolean }> }
}

export const readDashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard

/** Every PromQL expression of the dashboard: each panel's targets (rows' panels too) and each variable's query. */
export function dashboardExpressions(dashboard = readDashboard()): Array<{ where: string; expr: string }> {
  const found: Array<{ where: string; expr: string }> = []
  const visit = (panels: DashboardPanel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string') found.push({ where: `panel "${panel.title}"`, expr: target.expr })
      }
      visit(panel.panels ?? [])
    }
  }
  visit(dashboard.panels)
  for (const variable of dashboard.templating.list) {
    const query = variable.query as { query?: unknown } | string | undefined
    const text = typeof query === 'string' ? query : query?.query
    if (variable.type === 'query' && typeof text === 'string') {
      // label_values(SELECTOR, label): the selector is the expression.
      const selector = /^label_values\((.*),\s*\w+\)$/.exec(text)?.[1] ?? text
      found.push({ where: `variable $${variable.name}`, expr: selector })
    }
  }
  return found
}

const LABEL_LISTS = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
])
const KEYWORDS_WITH_ARGUMENT = new Set(['offset'])

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by
 * a parenthesis), keywords, label names (inside braces or a `by (…)` list), strings, numbers,
 * durations, or Grafana variables (`$instance`, `$__rate_interval`).
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(LABEL_LISTS, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
  const names = new Set<string>()
  let afterOffset = false
  for (const match of stripped.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match as unknown as [string, string, string | undefined]
    if (afterOffset) {
      afterOffset = false
      continue
    }
    if (KEYWORDS_WITH_ARGUMENT.has(name)) afterOffset = true
    if (call !== undefined || KEYWORDS.has(name) || KEYWORDS_WITH_ARGUMENT.has(name)) continue
    names.add(name)
  }
  return [...names]
}

/** The metric names in a Prometheus text exposition. */
export function servedNames(exposition: string): Set<string> {
  const names = new Set<string>()
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    names.add(/^[a-zA-Z_:][\w:]*/.exec(line)![0])
  }
  return names
}

/**
 * Where promtool is: PROMTOOL_PATH, else the first `promtool` on PATH. Outside CI a missing one
 * skips the rule tests with a loud notice; with CI=true it is a failure (.ci/run installs it).
 */
export function findPromtool(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [env.PROMTOOL_PATH, ...(env.PATH ?? '').split(':').map((dir) => dir && join(dir, 'promtool'))]
  return candidates.find((candidate): candidate is string => Boolean(candidate) && existsSync(candidate!)) ?? null
}

/** Why the promtool tests cannot run (null when they can), said loudly; throws instead under CI=true. */
export function promtoolMissing(
  env: NodeJS.ProcessEnv = process.env,
  notify: (notice: string) => void = (notice) => process.stderr.write(notice),
): string | null {
  if (findPromtool(env) !== null) return null
  const message = 'promtool not found (apt-get install prometheus, or set PROMTOOL_PATH)'
  if (env.CI === 'true') throw new Error(`${message}: the Prometheus rule tests cannot be skipped in CI`)
  notify(`\n*** SKIPPING the Prometheus rule tests: ${message} ***\n\n`)
  return message
}
