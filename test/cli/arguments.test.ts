import assert from 'node:assert/strict'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { describe, test } from 'node:test'
import { parseCommandLine } from '../../src/cli/args.ts'
import { main } from '../../src/cli/main.ts'

/** `lectern ARGV` in-process; no working directory, so no `.env` is read. */
async function lectern(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString())
        done()
      },
    })
  const code = await main(argv, {
    stdin: Readable.from([]),
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    env: { DATA_DIR: join(tmpdir(), 'lectern-arguments-unused') },
    now: () => new Date(),
    stderrIsTTY: false,
    stdinIsTTY: false,
  })
  return { code, stdout, stderr }
}

describe('parseCommandLine (node:util parseArgs, problems as data)', () => {
  const options = { name: { type: 'string' }, json: { type: 'boolean' } } as const

  test('options as "--name value" or "--name=value", operands anywhere, "--" ends the options', () => {
    assert.deepEqual(parseCommandLine(['a', '--name', 'x', '--json', '--', '--b'], options), {
      ok: true,
      values: { name: 'x', json: true },
      positionals: ['a', '--b'],
      help: false,
    })
    assert.deepEqual(parseCommandLine(['--name=-5'], options).ok, true)
    assert.equal((parseCommandLine(['--name', '-5'], options) as { values: { name?: string } }).values.name, '-5')
  })

  for (const [argv, problem] of [
    [['--frob'], { kind: 'unknown-option', option: '--frob' }],
    [['-x'], { kind: 'unknown-option', option: '-x' }],
    [['--name'], { kind: 'missing-value', option: '--name' }],
    [['--name', '--json'], { kind: 'missing-value', option: '--name' }],
    [['--json=yes'], { kind: 'value-not-allowed', option: '--json' }],
  ] as const) {
    test(`${argv.join(' ')} is a ${problem.kind} problem`, () => {
      assert.deepEqual(parseCommandLine([...argv], options), { ok: false, problem, help: false })
    })
  }

  test('an operand where none is allowed; --help and -h are seen even next to a mistake', () => {
    assert.deepEqual(parseCommandLine(['a'], options, { allowPositionals: false }), {
      ok: false,
      problem: { kind: 'unexpected-argument', argument: 'a' },
      help: false,
    })
    assert.equal(parseCommandLine(['--frob', '--help'], options).help, true)
    assert.equal(parseCommandLine(['-h'], options).help, true)
  })
})

describe('every command: unknown options and missing values exit 2 with usage', () => {
  for (const [argv, message, usage] of [
    [['--frob'], /^lectern: unknown option "--frob"/, /Usage: lectern <command>/],
    [['serve', '--port', '8080'], /^lectern serve: unknown option "--port"/, /Usage: lectern serve/],
    [['serve', 'now'], /^lectern serve: unexpected argument "now"/, /Usage: lectern serve/],
    [['import', '--force'], /^lectern import: unknown option "--force"/, /Usage: lectern import PATH/],
    [['create-admin', '--email'], /^lectern create-admin: --email needs a value/, /Usage: lectern create-admin/],
    [
      ['create-admin', '--username', 'ada', '--email', 'a@example.org', 'extra'],
      /^lectern create-admin: unexpected argument "extra"/,
      /Usage: lectern create-admin/,
    ],
    [['rate-limits', 'list', '--frob'], /^lectern rate-limits: unknown option "--frob"/, /Usage: lectern rate-limits/],
    [
      ['rate-limits', 'clear', '--username'],
      /^lectern rate-limits: --username needs a value/,
      /Usage: lectern rate-limits/,
    ],
    [['analyze-logs', '--since'], /^lectern analyze-logs: --since needs a value/, /lectern analyze-logs --help/],
    [['analyze-logs', '--last'], /^lectern analyze-logs: unknown option "--last"/, /lectern analyze-logs --help/],
  ] as const) {
    test(`lectern ${argv.join(' ')}`, async () => {
      const result = await lectern([...argv])
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, message)
      assert.match(result.stderr, usage)
      assert.equal(result.stdout, '')
    })
  }

  test('--help wins over a mistake next to it, for lectern and its commands (exit 0)', async () => {
    for (const [argv, usage] of [
      [['--help'], /Usage: lectern <command>/],
      [['help'], /Usage: lectern <command>/],
      [['serve', '--frob', '-h'], /Usage: lectern serve/],
      [['import', '--force', '--help'], /Usage: lectern import PATH/],
    ] as const) {
      const result = await lectern([...argv])
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`)
      assert.match(result.stdout, usage)
    }
  })
})
