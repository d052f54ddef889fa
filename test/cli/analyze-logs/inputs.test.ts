import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { InputError, logFilesIn, resolveInputs } from '../../../src/cli/analyze-logs/inputs.ts'

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
