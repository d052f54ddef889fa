import { CHECKS } from './checks/index.ts'
import type { DoctorCheck, DoctorContext, DoctorReport, Finding, Outcome } from './types.ts'

const REDACTED = '[redacted]'

/** A check's outcomes as findings; an OK has no fix. */
function findingsOf(check: DoctorCheck, outcomes: Outcome[]): Finding[] {
  return outcomes.map((outcome) =>
    outcome.ok
      ? { check: check.name, level: 'OK', message: outcome.message, fix: null }
      : {
          check: check.name,
          level: outcome.level ?? check.level,
          message: outcome.message,
          fix: outcome.fix ?? check.fix,
        },
  )
}

/**
 * Every value of the configuration that must never be shown: a check's message may quote a
 * library's error, and a library may quote what it was given. Replaced wherever it appears.
 */
function secretsOf(ctx: DoctorContext): string[] {
  const { config } = ctx
  const secrets = [config.sessionSecret, config.metricsToken, config.smtp?.auth?.pass]
  for (const url of [config.databaseUrl, config.redisUrl]) {
    if (url === null) continue
    const parsed = new URL(url)
    if (parsed.password !== '') secrets.push(parsed.password, decodeURIComponent(parsed.password))
    // node-postgres and libpq also read a password from the query string.
    const inQuery = parsed.searchParams.get('password')
    if (inQuery) secrets.push(inQuery, encodeURIComponent(inQuery))
  }
  return secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length > 0)
}

function withoutSecrets(text: string, secrets: string[]): string {
  return secrets.reduce((redacted, secret) => redacted.split(secret).join(REDACTED), text)
}

export function summarise(findings: Finding[]): DoctorReport {
  const count = (level: Finding['level']) => findings.filter((finding) => finding.level === level).length
  return { findings, summary: { ok: count('OK'), warn: count('WARN'), fail: count('FAIL') } }
}

/**
 * Runs the checks, all at once (each waits on its own I/O with its own short timeout), and
 * reports them in the list's order. A check that throws is a FAIL of that check, not a crash.
 */
export async function runDoctor(
  ctx: DoctorContext,
  opts: { scope: 'cli' | 'server'; checks?: readonly DoctorCheck[] },
): Promise<DoctorReport> {
  const checks = (opts.checks ?? CHECKS).filter((check) => opts.scope === 'cli' || check.scope === 'any')
  const secrets = secretsOf(ctx)
  const results = await Promise.all(
    checks.map(async (check) => {
      let outcomes: Outcome[]
      try {
        const outcome = await check.run(ctx)
        outcomes = Array.isArray(outcome) ? outcome : [outcome]
      } catch (error) {
        outcomes = [{ ok: false, level: 'FAIL', message: `the check failed: ${(error as Error).message}` }]
      }
      return findingsOf(check, outcomes)
    }),
  )
  const findings = results.flat().map((finding) => ({
    ...finding,
    message: withoutSecrets(finding.message, secrets),
    fix: finding.fix === null ? null : withoutSecrets(finding.fix, secrets),
  }))
  return summarise(findings)
}
