// The analyzer as its own process, for the benchmark to time and measure: the same function
// bin/lectern runs, without the rest of the command line in front of it.
import { analyzeLogsCommand } from '../../src/cli/analyze-logs/index.ts'

process.exitCode = await analyzeLogsCommand(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  now: () => new Date(),
  stderrIsTTY: Boolean(process.stderr.isTTY),
})
