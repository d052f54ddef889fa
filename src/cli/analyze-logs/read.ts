import { open } from 'node:fs/promises'
import { Readable, pipeline } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { InputError, describeFileError, type LogInput } from './inputs.ts'

/**
 * 1 MiB reads: large enough that per-read overhead vanishes, small enough to stay in cache
 * while the scanner walks it. One buffer per file, reused for every read.
 */
export const READ_CHUNK_BYTES = 1024 * 1024

const GZIP_MAGIC_0 = 0x1f
const GZIP_MAGIC_1 = 0x8b

/**
 * An input's bytes, decompressed when they are gzip: by content, not by name, so a `.gz`
 * piped to standard input works too. A name ending in `.gz` must hold gzip. Chunks may be
 * reused once the consumer asks for the next one. Failures are InputErrors naming the input.
 */
export async function* readInputChunks(input: LogInput, stdin: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  let raw: AsyncGenerator<Buffer> | null = null
  try {
    raw = input.kind === 'stdin' ? streamChunks(stdin) : fileChunks(input.path)
    const first = await firstBytes(raw)
    const isGzip = first.length >= 2 && first[0] === GZIP_MAGIC_0 && first[1] === GZIP_MAGIC_1
    if (input.kind === 'file' && input.path.endsWith('.gz') && !isGzip && first.length > 0) {
      throw new InputError(`cannot read "${input.name}": not in gzip format`)
    }
    const chunks = prepend(first, raw)
    yield* isGzip ? gunzip(chunks) : chunks
  } catch (error) {
    // File-system and zlib failures carry a code; anything else is a bug and stays one.
    if (error instanceof Error && 'code' in error && !(error instanceof InputError)) {
      throw new InputError(`cannot read "${input.name}": ${describeFileError(error as NodeJS.ErrnoException)}`)
    }
    throw error
  } finally {
    // A refusal or an early stop leaves the source suspended: ending it closes the file now,
    // never at garbage collection (which Node reports as an error).
    await raw?.return(undefined)
  }
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES)
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) return
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await file.close()
  }
}

async function* streamChunks(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk
  }
}

/**
 * Takes chunks until two bytes are known (enough to recognise gzip), as one chunk that is
 * the consumer's own: the source may reuse its buffer for the next read.
 */
async function firstBytes(chunks: AsyncIterator<Buffer>): Promise<Buffer> {
  const taken: Buffer[] = []
  let length = 0
  while (length < 2) {
    const next = await chunks.next()
    if (next.done === true) break
    taken.push(Buffer.from(next.value))
    length += next.value.length
  }
  return Buffer.concat(taken)
}

async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first
  yield* rest
}

async function* gunzip(compressed: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  // Copies, because Readable.from may still hold a chunk when the source reuses its buffer.
  const copies = (async function* () {
    for await (const chunk of compressed) yield Buffer.from(chunk)
  })()
  const inflater = createGunzip({ chunkSize: 256 * 1024 })
  // Errors of either stream reach the loop below, which rethrows them.
  pipeline(Readable.from(copies), inflater, () => {})
  for await (const chunk of inflater as AsyncIterable<Buffer>) yield chunk
}
