import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { EnvFileError, withEnvFile } from '../../src/cli/env-file.ts'
import { runLectern } from '../support/process.ts'

const roots: string[] = []
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

/** A fresh working directory holding this `.env` (none when null). */
function workingDirectory(envFile: string | null): string {
  const root = mkdtempSync(join(tmpdir(), 'lectern-env-file-'))
  roots.push(root)
  if (envFile !== null) writeFileSync(join(root, '.env'), envFile)
  return root
}

describe('.env in the working directory (CONTRACT §2)', () => {
  test('supplies what the environment does not set; the environment wins; a copy, process.env untouched', () => {
    const cwd = workingDirectory(
      '# settings for this machine\nPORT=4000\n\nexport HOST=0.0.0.0\nLOG_LEVEL="debug"\nMAIL_FROM=\'Lectern <a@b.c>\'\nSMTP_URL="smtp://\nx"\n',
    )
    const env = { PORT: '5000', DATA_DIR: '/srv/lectern' }
    const before = { ...process.env }
    const merged = withEnvFile(env, cwd)
    assert.deepEqual(merged, {
      PORT: '5000',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      MAIL_FROM: 'Lectern <a@b.c>',
      SMTP_URL: 'smtp://\nx',
      DATA_DIR: '/srv/lectern',
    })
    assert.deepEqual(env, { PORT: '5000', DATA_DIR: '/srv/lectern' }, 'the given environment is not changed')
    assert.deepEqual({ ...process.env }, before, 'process.env is not changed')
  })

  test('a quoted value keeps its #', () => {
    const env = withEnvFile({}, workingDirectory('SESSION_SECRET="abc#def"\n'))
    assert.equal(env.SESSION_SECRET, 'abc#def')
  })

  test('no .env: the environment as it is', () => {
    const env = { PORT: '5000' }
    assert.equal(withEnvFile(env, workingDirectory(null)), env)
  })

  for (const [content, problem] of [
    ['PORT=4000\nthis is not a setting\n', /\.env: line 2 is not NAME=value$/],
    ['PORT 4000\n', /\.env: line 1 is not NAME=value$/],
    ['SESSION_SECRET="abc\nPORT=4000\n', /\.env: a value opened with " is never closed$/],
    ['PORT=4000\nSMTP_URL=smtp://u:pa#ss@mail:587\n', /\.env: line 2: a value that contains # must be quoted/],
  ] as const) {
    test(`a malformed .env is an error naming the file and the line: ${JSON.stringify(content)}`, () => {
      const cwd = workingDirectory(content)
      assert.throws(
        () => withEnvFile({}, cwd),
        (error: Error) =>
          error instanceof EnvFileError && error.message.startsWith(join(cwd, '.env')) && problem.test(error.message),
      )
    })
  }

  test('an unreadable .env (here a folder) is an error naming it', () => {
    const cwd = workingDirectory(null)
    mkdirSync(join(cwd, '.env'))
    assert.throws(() => withEnvFile({}, cwd), new RegExp(`^EnvFileError: cannot read ${join(cwd, '.env')}: `))
  })
})

describe('bin/lectern reads .env for the commands that read the server environment', () => {
  test('serve takes a setting from .env, and the environment overrides it', async () => {
    const cwd = workingDirectory('RATE_LIMIT_LOGIN=five\n')
    const env = { DATA_DIR: join(cwd, 'data') }
    const fromFile = await runLectern(['serve'], { cwd, env })
    assert.equal(fromFile.code, 2)
    assert.match(fromFile.stderr, /invalid configuration: RATE_LIMIT_LOGIN: /)
    const overridden = await runLectern(['rate-limits', 'list'], { cwd, env: { ...env, RATE_LIMIT_LOGIN: '5/15m' } })
    assert.deepEqual(overridden, { code: 0, stdout: 'No rate-limit blocks.\n', stderr: '' })
  })

  test('a malformed .env stops start-up with exit 2 naming it; analyze-logs does not read it', async () => {
    const cwd = workingDirectory('PORT=3000\nPORT 3001\n')
    const refused = await runLectern(['serve'], { cwd, env: { DATA_DIR: join(cwd, 'data') } })
    assert.equal(refused.code, 2)
    assert.equal(refused.stderr, `lectern: ${join(cwd, '.env')}: line 2 is not NAME=value\n`)
    const analyzed = await runLectern(['analyze-logs', '--json', '-'], { cwd, input: '' })
    assert.equal(analyzed.code, 0, analyzed.stderr)
  })

  test('an unreadable .env (here a folder) stops start-up with exit 2 naming it', async () => {
    const cwd = workingDirectory(null)
    mkdirSync(join(cwd, '.env'))
    const refused = await runLectern(['import', cwd], { cwd, env: { DATA_DIR: join(cwd, 'data') } })
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, new RegExp(`^lectern: cannot read ${join(cwd, '.env')}: EISDIR`))
  })
})
