import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { readInputChunks } from '../../../src/cli/analyze-logs/read.ts'

/** How many of this process's file descriptors point at `path` (Linux's /proc). */
function openHandles(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path
    } catch {
      return false // closed while we looked
    }
  }).length
}

async function drain(chunks: AsyncGenerator<Buffer>): Promise<unknown> {
  try {
    for await (const _chunk of chunks) {
      // read everything
    }
    return null
  } catch (error) {
    return error
  }
}

test('every input file is closed when reading ends: done, refused, corrupt, or stopped early', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-read-'))
  try {
    const line = '{"event":"request_complete"}\n'
    const gz = gzipSync(line.repeat(1000))
    const files: Array<[string, Buffer | string, boolean]> = [
      ['plain.log', line.repeat(10), false],
      ['fake.log.gz', line, true], // named gzip, is not: refused after its first bytes
      ['corrupt.log.gz', Buffer.concat([gz.subarray(0, 10), Buffer.alloc(40, 0x55), gz.subarray(50)]), true],
    ]
    const stdin = new PassThrough()
    for (const [name, content, refused] of files) {
      const path = join(dir, name)
      writeFileSync(path, content)
      const error = await drain(readInputChunks({ kind: 'file', path, name }, stdin))
      assert.equal(error !== null, refused, name)
      assert.equal(openHandles(path), 0, `${name} is still open`)
    }
    const path = join(dir, 'stopped.log')
    writeFileSync(path, line.repeat(10))
    const chunks = readInputChunks({ kind: 'file', path, name: 'stopped.log' }, stdin)
    await chunks.next()
    await chunks.return(undefined)
    assert.equal(openHandles(path), 0, 'a file read in part is still open')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
