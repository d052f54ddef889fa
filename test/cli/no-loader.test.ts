import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, describe, test } from 'node:test'
import { runLectern } from '../support/process.ts'

const PROBE = pathToFileURL(new URL('../support/loader-probe.mjs', import.meta.url).pathname).href
// Flags that would put a loader or preloaded code into the process.
const LOADER_FLAGS = /^(--import|--loader|--experimental-loader|--require|-r)(=|$)/

interface ProbeReport {
  execArgv: string[]
  typescript: string | false
  hooks: string[]
}

describe('bin/lectern runs the sources with no TypeScript loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-loader-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  async function probe(name: string, args: string[], input = ''): Promise<ProbeReport[]> {
    const reportFile = join(dir, `${name}.jsonl`)
    const result = await runLectern(args, {
      input,
      env: { NODE_OPTIONS: `--import=${PROBE}`, LECTERN_LOADER_PROBE: reportFile },
    })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stderr, '', 'no warning on standard error')
    return readFileSync(reportFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ProbeReport)
  }

  for (const [name, args] of [
    ['help', ['--help']],
    ['analyze-logs', ['analyze-logs']],
  ] as const) {
    test(`${args.join(' ')}: no module hooks registered, no loader flag, Node's own type stripping`, async () => {
      const reports = await probe(name, [...args])
      // One process, or two on Node lines that strip types only when asked (bin/lectern re-runs itself).
      assert.ok(reports.length >= 1 && reports.length <= 2, JSON.stringify(reports))
      for (const report of reports) {
        assert.deepEqual(report.hooks, [], 'module.register / module.registerHooks called')
        assert.deepEqual(
          report.execArgv.filter((arg) => LOADER_FLAGS.test(arg)),
          [],
        )
      }
      assert.ok(
        reports.some((report) => report.typescript === 'strip'),
        'the process that ran the sources stripped types itself',
      )
    })
  }
})
