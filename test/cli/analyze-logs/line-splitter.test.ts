import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { LineSplitter } from '../../../src/cli/analyze-logs/line-splitter.ts'
import { seededRandom } from '../../support/log-lines.ts'

/** Splits `text` fed in the given chunk sizes; chunks are reused buffers, as files are read. */
function split(text: string, chunkSizes: () => number, maxLineBytes = 1024) {
  const lines: string[] = []
  let overlong = 0
  const splitter = new LineSplitter(
    {
      line(buf, start, end) {
        assert.equal(buf[end], 0x0a, 'a newline byte follows every line')
        lines.push(buf.toString('utf8', start, end))
      },
      overlongLine() {
        overlong++
      },
    },
    maxLineBytes,
  )
  const bytes = Buffer.from(text)
  const reused = Buffer.alloc(4096)
  for (let offset = 0; offset < bytes.length;) {
    const size = Math.min(chunkSizes(), bytes.length - offset, reused.length)
    bytes.copy(reused, 0, offset, offset + size)
    splitter.push(reused.subarray(0, size))
    reused.fill(0x41) // what a reused buffer holds later must not leak into lines
    offset += size
  }
  splitter.end()
  return { lines, overlong }
}

describe('splitting input into lines', () => {
  const text = 'first\nsecond line\n\nthird — ünïcode 😀\r\nlast without newline'
  const expected = ['first', 'second line', '', 'third — ünïcode 😀\r', 'last without newline']

  test('the same lines whatever the chunk boundaries, a multi-byte character cut included', () => {
    for (const size of [1, 2, 3, 5, 7, 64, 4096])
      assert.deepEqual(split(text, () => size).lines, expected, `chunks of ${size}`)
    const random = seededRandom(1)
    for (let round = 0; round < 200; round++)
      assert.deepEqual(split(text, () => 1 + Math.floor(random() * 20)).lines, expected)
  })

  test('a final newline does not make an extra empty line', () => {
    assert.deepEqual(split('a\nb\n', () => 3).lines, ['a', 'b'])
    assert.deepEqual(split('', () => 3).lines, [])
  })

  test('a line over the limit is dropped and reported, whether or not it spans chunks', () => {
    const long = 'x'.repeat(100)
    for (const size of [7, 4096]) {
      const { lines, overlong } = split(`ok\n${long}\nnext\n${long}`, () => size, 50)
      assert.deepEqual(lines, ['ok', 'next'], `chunks of ${size}`)
      assert.equal(overlong, 2)
    }
    assert.deepEqual(split(`${'y'.repeat(50)}\n`, () => 7, 50).lines, ['y'.repeat(50)])
  })
})
