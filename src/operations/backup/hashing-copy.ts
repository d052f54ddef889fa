import { createHash } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { PRIVATE_FILE_MODE } from '../../lib/private-files.ts'

/** A stream that passes its bytes on and counts and hashes them on the way. */
export function hashingTap() {
  const hash = createHash('sha256')
  let size = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      size += chunk.length
      done(null, chunk)
    },
  })
  return { stream, result: () => ({ size, sha256: hash.digest('hex') }) }
}

/** Writes the bytes to `destination` (created 0600, never overwritten); returns their size and SHA-256. */
export async function writeWithChecksum(
  source: NodeJS.ReadableStream,
  destination: string,
): Promise<{ size: number; sha256: string }> {
  const tap = hashingTap()
  await pipeline(source, tap.stream, createWriteStream(destination, { flags: 'wx', mode: PRIVATE_FILE_MODE }))
  return tap.result()
}

/**
 * Copies a regular file to `destination` (created 0600, never overwritten) and returns its size
 * and SHA-256. The source is opened with O_NOFOLLOW: a file swapped for a link since it was looked
 * at is refused, not followed out of its folder.
 */
export async function copyWithChecksum(source: string, destination: string): Promise<{ size: number; sha256: string }> {
  const handle = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${source} is not a regular file`)
    return await writeWithChecksum(handle.createReadStream({ autoClose: false }), destination)
  } finally {
    await handle.close()
  }
}
