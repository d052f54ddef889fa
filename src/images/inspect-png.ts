import { DeclaredSize } from './declared-size.ts'
import type { ImageHeaderInfo, ImageLimits } from './types.ts'

const SIGNATURE_BYTES = 8
const CHUNK_OVERHEAD_BYTES = 12 // length (4) + type (4) + CRC (4)
const IHDR_DATA_BYTES = 13
const ACTL_DATA_BYTES = 8
const FCTL_DATA_BYTES = 26
const MAX_CHUNK_LENGTH = 2 ** 31 - 1 // PNG spec: lengths above this are invalid

/** Bit depths each colour type allows (PNG spec, table 11.1). */
const ALLOWED_BIT_DEPTHS: ReadonlyMap<number, readonly number[]> = new Map([
  [0, [1, 2, 4, 8, 16]], // greyscale
  [2, [8, 16]], // truecolour
  [3, [1, 2, 4, 8]], // indexed
  [4, [8, 16]], // greyscale + alpha
  [6, [8, 16]], // truecolour + alpha
])

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 as PNG uses it. Only ever run over the IHDR, so a table-driven loop is plenty. */
function crc32(bytes: Buffer, start: number, end: number): number {
  let crc = 0xffffffff
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

function isChunkTypeByte(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
}

/**
 * Walks the chunk list by lengths alone (no inflating, no allocation): IHDR first, its
 * dimensions checked before anything else is trusted, then every acTL and fcTL for animation
 * size, and finally that image data exists and no chunk runs past the end of the file.
 * A chunk claiming a gigabyte is refused from its length, never read.
 */
export function inspectPng(bytes: Buffer, limits: ImageLimits): ImageHeaderInfo {
  const size = new DeclaredSize('png', limits)
  const ihdrEnd = SIGNATURE_BYTES + CHUNK_OVERHEAD_BYTES + IHDR_DATA_BYTES
  if (bytes.length < ihdrEnd) throw size.invalid('file ends before a complete IHDR')
  if (bytes.toString('latin1', SIGNATURE_BYTES + 4, SIGNATURE_BYTES + 8) !== 'IHDR') {
    throw size.invalid('first chunk is not IHDR')
  }
  if (bytes.readUInt32BE(SIGNATURE_BYTES) !== IHDR_DATA_BYTES) throw size.invalid('IHDR has the wrong length')

  const ihdr = SIGNATURE_BYTES + 8
  const width = bytes.readUInt32BE(ihdr)
  const height = bytes.readUInt32BE(ihdr + 4)
  // Dimensions first: a file declaring a bomb is refused as one, whatever else is wrong with it.
  size.declareImage(width, height)
  if (width === 0 || height === 0) throw size.invalid(`IHDR declares ${width}×${height}`)

  const bitDepth = bytes[ihdr + 8]!
  const colourType = bytes[ihdr + 9]!
  const allowedDepths = ALLOWED_BIT_DEPTHS.get(colourType)
  if (!allowedDepths) throw size.invalid(`IHDR colour type ${colourType} is not defined`)
  if (!allowedDepths.includes(bitDepth))
    throw size.invalid(`IHDR bit depth ${bitDepth} is not allowed for colour type ${colourType}`)
  if (bytes[ihdr + 10] !== 0 || bytes[ihdr + 11] !== 0) throw size.invalid('IHDR compression or filter method is not 0')
  if (bytes[ihdr + 12]! > 1) throw size.invalid('IHDR interlace method is not 0 or 1')
  // The header is the one chunk whose CRC is checked here: every later decision rests on it.
  if (crc32(bytes, SIGNATURE_BYTES + 4, ihdr + IHDR_DATA_BYTES) !== bytes.readUInt32BE(ihdr + IHDR_DATA_BYTES)) {
    throw size.invalid('IHDR CRC mismatch')
  }

  let position = ihdrEnd
  let sawImageData = false
  let frameControls = 0
  while (position < bytes.length) {
    if (position + 8 > bytes.length) throw size.invalid('file ends inside a chunk header')
    const length = bytes.readUInt32BE(position)
    if (length > MAX_CHUNK_LENGTH) throw size.invalid(`chunk length ${length} is over 2^31-1`)
    for (let i = position + 4; i < position + 8; i++) {
      if (!isChunkTypeByte(bytes[i]!)) throw size.invalid('chunk type is not four letters')
    }
    const type = bytes.toString('latin1', position + 4, position + 8)
    const data = position + 8
    if (data + length + 4 > bytes.length)
      throw size.invalid(`${type} chunk of ${length} bytes runs past the end of the file`)

    if (type === 'IEND') break
    if (type === 'IHDR') throw size.invalid('second IHDR')
    if (type === 'IDAT') sawImageData = true
    // acTL after the first IDAT does not make an APNG (the spec ignores it), so it declares nothing.
    if (type === 'acTL' && !sawImageData) {
      if (length !== ACTL_DATA_BYTES) throw size.invalid('acTL has the wrong length')
      size.declareFrames(bytes.readUInt32BE(data))
    }
    // Every fcTL is checked, wherever it stands: a frame rectangle is only ever too large, never ignored.
    if (type === 'fcTL') {
      if (length !== FCTL_DATA_BYTES) throw size.invalid('fcTL has the wrong length')
      const frameWidth = bytes.readUInt32BE(data + 4)
      const frameHeight = bytes.readUInt32BE(data + 8)
      const left = bytes.readUInt32BE(data + 12)
      const top = bytes.readUInt32BE(data + 16)
      size.declareFrameRect(left, top, frameWidth, frameHeight)
      frameControls += 1
      size.declareFrames(frameControls)
    }
    position = data + length + 4
  }

  if (!sawImageData) throw size.invalid('no IDAT chunk')
  return size.result()
}
