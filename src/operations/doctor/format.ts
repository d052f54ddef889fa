import type { DoctorReport, Level } from './types.ts'

const COLOURS: Record<Level, string> = { OK: '\u001b[32m', WARN: '\u001b[33m', FAIL: '\u001b[31m' }
const RESET = '\u001b[0m'

/** One line per finding, `OK|WARN|FAIL <check>: <what> — <how to fix>`, and a summary line. */
export function formatReport(report: DoctorReport, { colour }: { colour: boolean }): string {
  const lines = report.findings.map((finding) => {
    const level = colour ? `${COLOURS[finding.level]}${finding.level}${RESET}` : finding.level
    const fix = finding.fix === null ? '' : ` — ${finding.fix}`
    return `${level} ${finding.check}: ${finding.message}${fix}\n`
  })
  const { ok, warn, fail } = report.summary
  return `${lines.join('')}\n${ok} ok, ${warn} warning(s), ${fail} failure(s)\n`
}
