import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { InputError, logFilesIn, resolveInputs } from '../../../src/cli/analyze-logs/inputs.ts'
import { classifyLogFileName, compareLogFileNames } from '../../../src/cli/analyze-logs/log-file-names.ts'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-inputs-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('which files a directory means, in which order', () => {
  test('rotated files by the day in their name (then rotation attempt), the live file last', async () => {
    const names = [
      'lectern.log',
      'lectern.2026-11-23.log',
      'lectern.2026-11-20.log.gz',
      'lectern.2026-11-22.10.log',
      'lectern.2026-11-22.log',
      'lectern.2026-11-22.2.log',
      'lectern.2026-11-21.jsonl',
      'README.md',
      'lectern.log.swp',
    ]
    await mkdir(join(dir, 'logs'))
    for (const name of names) await writeFile(join(dir, 'logs', name), '')
    await mkdir(join(dir, 'logs', 'old.log'))
    const files = (await logFilesIn(join(dir, 'logs'))).map((path) => basename(path))
    assert.deepEqual(files, [
      'lectern.2026-11-20.log.gz',
      'lectern.2026-11-21.jsonl',
      'lectern.2026-11-22.log',
      'lectern.2026-11-22.2.log',
      'lectern.2026-11-22.10.log',
      'lectern.2026-11-23.log',
      'lectern.log',
    ])
  })

  test('the rotated names of other tools, plain and .gz, oldest first; numbered from the highest down', async () => {
    const names = [
      'lectern.log',
      'lectern.log.1',
      'lectern.log.2.gz',
      'lectern.log.10.gz',
      'lectern.log-20261121',
      'lectern.log-20261120.gz',
      'lectern.log-2026112210',
      'lectern.log.2026-11-23',
      'lectern.log.2026-11-22.gz',
      'lectern.log.2026-11-22_09-30',
      'lectern.2026-11-22.log',
      'access.jsonl.3',
      // Not logs: an editor's backup, a half-written copy, another tool's files.
      'lectern.log.bak',
      'lectern.log.1.bak',
      'lectern.log.gz.tmp',
      'lectern.log.2026-13-01',
      'lectern.log-2026112',
      'other.txt',
      'lectern.log.swp',
    ]
    await mkdir(join(dir, 'others'))
    for (const name of names) await writeFile(join(dir, 'others', name), '')
    const files = (await logFilesIn(join(dir, 'others'))).map((path) => basename(path))
    assert.deepEqual(files, [
      'lectern.log-20261120.gz',
      'lectern.log-20261121',
      'lectern.2026-11-22.log',
      'lectern.log.2026-11-22.gz',
      'lectern.log.2026-11-22_09-30',
      'lectern.log-2026112210',
      'lectern.log.2026-11-23',
      'lectern.log.10.gz',
      'access.jsonl.3',
      'lectern.log.2.gz',
      'lectern.log.1',
      'lectern.log',
    ])
  })

  test('name by name: which are logs and which are not', () => {
    for (const name of [
      'a.log',
      'a.ndjson.gz',
      'a.log.7',
      'a.log.7.gz',
      'a.log-20261123',
      'a.log.2026-11-23_10-15-30.gz',
    ])
      assert.notEqual(classifyLogFileName(name), null, name)
    for (const name of [
      'a.log.bak',
      'a.log.old',
      'a.log.',
      'a.log.1.2',
      'a.log.1234567',
      'a.log-2026-11-23',
      'a.log.2026-11-32',
      'a.log.2026-11-23_25',
      'a.txt',
      'log',
    ])
      assert.equal(classifyLogFileName(name), null, name)
  })

  test('a name the rules do not take still sorts, with the live files, by name', () => {
    assert.deepEqual(['z.log', 'a.log.1234567', 'a.log.1', 'a.log-20261122'].sort(compareLogFileNames), [
      'a.log-20261122',
      'a.log.1',
      'a.log.1234567',
      'z.log',
    ])
  })

  test('a symbolic link is taken when it leads to a regular file, never to a directory or a FIFO', async () => {
    const logs = join(dir, 'links')
    await mkdir(join(logs, 'target.d'), { recursive: true })
    await writeFile(join(dir, 'elsewhere.log'), '')
    await symlink(join(dir, 'elsewhere.log'), join(logs, 'lectern.log.1'))
    await symlink(join(logs, 'target.d'), join(logs, 'lectern.log.2'))
    await mkdir(join(logs, 'lectern.log.3')) // a directory with a log's name
    const { execFileSync } = await import('node:child_process')
    execFileSync('mkfifo', [join(logs, 'fifo.log')])
    await symlink(join(logs, 'fifo.log'), join(logs, 'lectern.log.4'))
    const files = (await logFilesIn(logs)).map((path) => basename(path))
    assert.deepEqual(files, ['lectern.log.1'])
  })

  test('no operand is standard input; "-" is standard input among files', async () => {
    assert.deepEqual(await resolveInputs([]), [{ kind: 'stdin', name: 'standard input' }])
    const file = join(dir, 'one.log')
    await writeFile(file, '')
    assert.deepEqual(await resolveInputs([file, '-']), [
      { kind: 'file', path: file, name: file },
      { kind: 'stdin', name: 'standard input' },
    ])
  })

  test('a missing path is an InputError naming it', async () => {
    await assert.rejects(
      resolveInputs([join(dir, 'absent.log')]),
      (error: unknown) => error instanceof InputError && /absent\.log": no such file or directory/.test(error.message),
    )
  })
})
