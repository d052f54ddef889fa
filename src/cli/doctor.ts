import { ConfigError, loadConfig } from '../config/index.ts'
import { configurationFailure } from '../operations/doctor/checks/configuration.ts'
import { createCliDoctorContext, type CliDoctorOptions } from '../operations/doctor/cli-context.ts'
import { formatReport } from '../operations/doctor/format.ts'
import { runDoctor, summarise } from '../operations/doctor/run.ts'
import type { DoctorReport } from '../operations/doctor/types.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'

const USAGE = `Usage: lectern doctor [--json]

Checks the installation the server would run with (the same environment and .env as
"lectern serve") and says what to fix: the configuration; DATA_DIR, the database file and the
session secret private (0700/0600) and owned by this user; the database answers and its
migrations are current; Redis (REDIS_URL) answers PING; the SMTP relay (SMTP_URL) answers
EHLO; PUBLIC_URL, COOKIE_SECURE and TRUST_PROXY agree; an admin exists and admins use
two-factor sign-in; METRICS_TOKEN is long enough; LOG_FILE's folder is writable; free disk
space; the Node.js version; the newest backup in BACKUP_DIR is younger than a day.

One line per finding: OK|WARN|FAIL <check>: <what> — <how to fix>. Nothing is changed.

  --json   {"findings": [{"check", "level", "message", "fix"}], "summary": {"ok", "warn", "fail"}}

Exit status: 0 no FAIL, 1 at least one FAIL, 2 usage error.
`

/** Dependencies a test replaces; the integrator passes the two-factor module's answer here. */
export type DoctorCommandDeps = Pick<CliDoctorOptions, 'adminsWithoutSecondFactor'>

async function report(io: CliIo, deps: DoctorCommandDeps): Promise<DoctorReport> {
  let config
  try {
    config = loadConfig(io.env)
  } catch (error) {
    // An invalid configuration is itself the finding: nothing else can be checked without it.
    if (!(error instanceof ConfigError)) throw error
    return summarise([configurationFailure(error)])
  }
  const { ctx, close } = createCliDoctorContext(config, { now: io.now, ...deps })
  try {
    return await runDoctor(ctx, { scope: 'cli' })
  } finally {
    await close()
  }
}

export function createDoctorCommand(deps: DoctorCommandDeps = {}): Command {
  return {
    name: 'doctor',
    summary: 'check the installation and say what to fix',
    usage: USAGE,
    async run(argv, io) {
      const args = parseCommandLine(argv, { json: { type: 'boolean' } }, { allowPositionals: false })
      if (args.help) {
        io.stdout.write(USAGE)
        return EXIT_OK
      }
      if (!args.ok) {
        io.stderr.write(`lectern doctor: ${describeArgsProblem(args.problem)}\n\n${USAGE}`)
        return EXIT_USAGE
      }
      const result = await report(io, deps)
      if (args.values.json) {
        io.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      } else {
        // Colours for a person at a terminal only (https://no-color.org).
        const colour = Boolean((io.stdout as { isTTY?: boolean }).isTTY) && !io.env.NO_COLOR
        io.stdout.write(formatReport(result, { colour }))
      }
      return result.summary.fail > 0 ? EXIT_PROBLEM : EXIT_OK
    },
  }
}

export const doctorCommand = createDoctorCommand()
