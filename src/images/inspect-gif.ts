import { DeclaredSize } from './declared-size.ts'
import type { ImageHeaderInfo, ImageLimits } from './types.ts'

const HEADER_BYTES = 6 // GIF87a / GIF89a
const LOGICAL_SCREEN_BYTES = 7
const IMAGE_DESCRIPTOR_BYTES = 10 // separator + left, top, width, height + packed fields

const EXTENSION_INTRODUCER = 0x21
const IMAGE_SEPARATOR = 0x2c
const TRAILER = 0x3b
const COLOUR_TABLE_FLAG = 0x80

/** A colour table holds 2^(n+1) RGB triples, n being the packed field's low three bits. */
function colourTableBytes(packed: number): number {
  return packed & COLOUR_TABLE_FLAG ? 3 * 2 ** ((packed & 0x07) + 1) : 0
}

/**
 * Walks the logical screen and every block of the file: each image descriptor is read and its
 * rectangle checked, because a bomb hides in a frame larger than, or placed outside, a tiny
 * logical screen, and frames are counted as they come, so 40,000 frames stop at the 1,001st.
 * Extensions and LZW data are skipped by their sub-block lengths, never decoded.
 */
export function inspectGif(bytes: Buffer, limits: ImageLimits): ImageHeaderInfo {
  const size = new DeclaredSize('gif', limits)
  if (bytes.length < HEADER_BYTES + LOGICAL_SCREEN_BYTES)
    throw size.invalid('file ends inside the logical screen descriptor')
  // A zero-sized logical screen is left to the decoder: some encoders write one and rely on frames.
  size.declareImage(bytes.readUInt16LE(HEADER_BYTES), bytes.readUInt16LE(HEADER_BYTES + 2))
  let position = HEADER_BYTES + LOGICAL_SCREEN_BYTES + colourTableBytes(bytes[HEADER_BYTES + 4]!)
  if (position > bytes.length) throw size.invalid('file ends inside the global colour table')

  let frames = 0
  // A missing trailer after complete blocks is common and harmless; the decoder judges it.
  while (position < bytes.length) {
    const introducer = bytes[position]!
    if (introducer === TRAILER) break

    if (introducer === EXTENSION_INTRODUCER) {
      if (position + 2 > bytes.length) throw size.invalid('file ends inside an extension')
      position = skipSubBlocks(bytes, position + 2)
      if (position === -1) throw size.invalid('file ends inside an extension')
      continue
    }

    if (introducer !== IMAGE_SEPARATOR) {
      throw size.invalid(`unexpected block 0x${introducer.toString(16).padStart(2, '0')} at offset ${position}`)
    }
    if (position + IMAGE_DESCRIPTOR_BYTES > bytes.length) throw size.invalid('file ends inside an image descriptor')
    frames += 1
    size.declareFrames(frames)
    size.declareFrameRect(
      bytes.readUInt16LE(position + 1),
      bytes.readUInt16LE(position + 3),
      bytes.readUInt16LE(position + 5),
      bytes.readUInt16LE(position + 7),
    )
    // Then the local colour table, the LZW minimum code size byte, and the data sub-blocks.
    position += IMAGE_DESCRIPTOR_BYTES + colourTableBytes(bytes[position + 9]!) + 1
    if (position > bytes.length) throw size.invalid('file ends inside image data')
    position = skipSubBlocks(bytes, position)
    if (position === -1) throw size.invalid('file ends inside image data')
  }

  if (frames === 0) throw size.invalid('no image descriptor')
  return size.result()
}

/** Skips a chain of sub-blocks (a length byte, then that many bytes) up to its zero terminator. */
function skipSubBlocks(bytes: Buffer, start: number): number {
  let position = start
  while (position < bytes.length) {
    const length = bytes[position]!
    position += 1 + length
    if (length === 0) return position
  }
  return -1
}
