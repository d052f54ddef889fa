/**
 * Image fixtures built in memory by the tests themselves: real images from sharp, and
 * hand-made headers, bombs and broken files from Buffers. Nothing large lives in git.
 *
 * The byte-level builders deliberately share no code with src/images, so a mistake in the
 * validator cannot be mirrored by the fixtures that test it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants as zlibConstants, deflateRawSync, deflateSync } from 'node:zlib'
import sharp from 'sharp'

// ---------------------------------------------------------------------------------------------
// Real images, encoded by sharp

export interface JpegOptions {
  /** Write an EXIF block with a GPS position (51°30′N 0°7′W) and a camera make. */
  exifGps?: boolean
  /** EXIF orientation tag, 1–8. */
  orientation?: number
  /** Fill with noise so the file is photo-sized rather than a flat colour. */
  noise?: boolean
  progressive?: boolean
}

function canvas(width: number, height: number, options: { noise?: boolean; alpha?: boolean } = {}) {
  if (options.noise) {
    return sharp({
      create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
    })
  }
  const background = options.alpha ? { r: 40, g: 120, b: 200, alpha: 0.5 } : { r: 40, g: 120, b: 200 }
  return sharp({ create: { width, height, channels: options.alpha ? 4 : 3, background } })
}

export async function makeJpeg(width: number, height: number, options: JpegOptions = {}): Promise<Buffer> {
  let image = canvas(width, height, { noise: options.noise }).jpeg({ quality: 80, progressive: options.progressive })
  if (options.exifGps) {
    image = image.withExif({
      IFD0: { Make: 'FixtureCam' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
    })
  }
  if (options.orientation !== undefined) image = image.withMetadata({ orientation: options.orientation })
  return image.toBuffer()
}

export async function makePng(width: number, height: number, options: { alpha?: boolean } = {}): Promise<Buffer> {
  return canvas(width, height, options).png().toBuffer()
}

export async function makeGif(width: number, height: number): Promise<Buffer> {
  return canvas(width, height).gif().toBuffer()
}

/** An animated GIF whose frames alternate red and blue, encoded by sharp. */
export async function makeAnimatedGif(width: number, height: number, frames: number): Promise<Buffer> {
  const frameBytes = width * height * 3
  const pixels = Buffer.alloc(frameBytes * frames)
  for (let frame = 0; frame < frames; frame++) {
    const [r, b] = frame % 2 === 0 ? [255, 0] : [0, 255]
    for (let i = frame * frameBytes; i < (frame + 1) * frameBytes; i += 3) {
      pixels[i] = r
      pixels[i + 2] = b
    }
  }
  return sharp(pixels, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ delay: 100 })
    .toBuffer()
}

export async function makeWebp(width = 32, height = 32): Promise<Buffer> {
  return canvas(width, height).webp().toBuffer()
}

export async function makeTiff(width = 32, height = 32): Promise<Buffer> {
  return canvas(width, height).tiff().toBuffer()
}

// ---------------------------------------------------------------------------------------------
// Other formats and hostile content, made by hand

/** An uncompressed 24-bit BMP (BITMAPINFOHEADER), bottom-up rows padded to 4 bytes. */
export function makeBmp(width = 8, height = 8): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4
  const pixelBytes = rowBytes * height
  const file = Buffer.alloc(54 + pixelBytes, 0x80)
  file.write('BM', 0, 'latin1')
  file.writeUInt32LE(file.length, 2)
  file.writeUInt32LE(0, 6)
  file.writeUInt32LE(54, 10)
  file.writeUInt32LE(40, 14)
  file.writeInt32LE(width, 18)
  file.writeInt32LE(height, 22)
  file.writeUInt16LE(1, 26)
  file.writeUInt16LE(24, 28)
  file.writeUInt32LE(0, 30)
  file.writeUInt32LE(pixelBytes, 34)
  file.fill(0, 38, 54)
  return file
}

export const svgWithScript = Buffer.from(
  '<?xml version="1.0" standalone="no"?>\n' +
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">\n' +
    '  <rect width="64" height="64" fill="red"/>\n' +
    '  <script type="text/javascript">alert(document.cookie)</script>\n' +
    '</svg>\n',
)

export const htmlPage = Buffer.from(
  '<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n',
)

/** Deterministic bytes (xorshift32), so a failure can be reproduced; never starts with an image signature. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Buffer {
  const bytes = Buffer.alloc(length)
  let state = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    bytes[i] = state & 0xff
  }
  if (length > 0 && (bytes[0] === 0xff || bytes[0] === 0x89 || bytes[0] === 0x47)) bytes[0] = 0x00
  return bytes
}

/** The first `keepBytes` bytes of a file, as an interrupted upload would leave it. */
export function truncate(file: Buffer, keepBytes: number): Buffer {
  return Buffer.from(file.subarray(0, keepBytes))
}

// ---------------------------------------------------------------------------------------------
// PNG by hand

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** One PNG chunk: length, type, data and a correct CRC. */
export function pngChunk(type: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const chunk = Buffer.alloc(12 + data.length)
  chunk.writeUInt32BE(data.length, 0)
  chunk.write(type, 4, 'latin1')
  data.copy(chunk, 8)
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length)
  return chunk
}

export function ihdr(width: number, height: number, bitDepth = 8, colourType = 0, interlace = 0): Buffer {
  const data = Buffer.alloc(13)
  data.writeUInt32BE(width, 0)
  data.writeUInt32BE(height, 4)
  data.writeUInt8(bitDepth, 8)
  data.writeUInt8(colourType, 9)
  data.writeUInt8(interlace, 12)
  return pngChunk('IHDR', data)
}

export function actl(frames: number, plays = 0): Buffer {
  const data = Buffer.alloc(8)
  data.writeUInt32BE(frames, 0)
  data.writeUInt32BE(plays, 4)
  return pngChunk('acTL', data)
}

export function fctl(sequence: number, rect: { left: number; top: number; width: number; height: number }): Buffer {
  const data = Buffer.alloc(26)
  data.writeUInt32BE(sequence, 0)
  data.writeUInt32BE(rect.width, 4)
  data.writeUInt32BE(rect.height, 8)
  data.writeUInt32BE(rect.left, 12)
  data.writeUInt32BE(rect.top, 16)
  data.writeUInt16BE(1, 20) // delay 1/10 s
  data.writeUInt16BE(10, 22)
  return pngChunk('fcTL', data)
}

/** A complete PNG: signature, the given chunks in order, IEND. */
export function assemblePng(...chunks: Buffer[]): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ...chunks, pngChunk('IEND')])
}

/** A small valid 8-bit greyscale PNG, all black, built without sharp. */
export function makeTinyPng(width = 4, height = 4, extraChunksBeforeIdat: Buffer[] = []): Buffer {
  const raw = Buffer.alloc((width + 1) * height)
  return assemblePng(ihdr(width, height), ...extraChunksBeforeIdat, pngChunk('IDAT', deflateSync(raw)))
}

/** Signature and a well-formed IHDR (correct CRC) claiming any size, then a token IDAT and IEND. */
export function makePngHeaderClaiming(width: number, height: number): Buffer {
  return assemblePng(ihdr(width, height), pngChunk('IDAT', deflateSync(Buffer.alloc(width > 0 ? 2 : 1))))
}

/** Inserts a chunk right after IHDR, e.g. a tEXt chunk into a PNG that sharp made. */
export function insertPngChunkAfterIhdr(png: Buffer, chunk: Buffer): Buffer {
  const afterIhdr = 8 + 12 + 13
  return Buffer.concat([png.subarray(0, afterIhdr), chunk, png.subarray(afterIhdr)])
}

export function textChunk(keyword: string, text: string): Buffer {
  return pngChunk('tEXt', Buffer.from(`${keyword}\0${text}`, 'latin1'))
}

/**
 * A real decompression bomb: a complete, valid 1-bit greyscale PNG of zeros, 30000×30000 by
 * default (112 MB of raw rows) in about 110 KB. The zlib stream is built from one compressed
 * run of zero rows repeated, which is valid because each deflate run only refers back into
 * itself; the Adler-32 of n zero bytes is (n mod 65521) << 16 | 1.
 */
export function makeZeroPngBomb(width = 30_000, height = 30_000): Buffer {
  const rowBytes = 1 + Math.ceil(width / 8)
  const rowsPerRun = Math.max(1, Math.min(height, Math.floor(4_000_000 / rowBytes)))
  const fullRun = deflateRawSync(Buffer.alloc(rowBytes * rowsPerRun), {
    level: 9,
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  })
  const lastRows = height % rowsPerRun
  const runs: Buffer[] = Array.from({ length: Math.floor(height / rowsPerRun) }, () => fullRun)
  if (lastRows > 0) {
    runs.push(deflateRawSync(Buffer.alloc(rowBytes * lastRows), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH }))
  }
  const rawBytes = rowBytes * height
  const adler = Buffer.alloc(4)
  adler.writeUInt32BE((((rawBytes % 65521) << 16) | 1) >>> 0)
  const zlibStream = Buffer.concat([Buffer.from([0x78, 0xda]), ...runs, Buffer.from([0x03, 0x00]), adler])
  return assemblePng(ihdr(width, height, 1, 0), pngChunk('IDAT', zlibStream))
}

/** The IDAT payload of a PNG made by these builders (one IDAT chunk). */
export function idatOf(png: Buffer): Buffer {
  let position = 8
  while (position < png.length) {
    const length = png.readUInt32BE(position)
    if (png.toString('latin1', position + 4, position + 8) === 'IDAT')
      return png.subarray(position + 8, position + 8 + length)
    position += 12 + length
  }
  throw new Error('no IDAT')
}

// ---------------------------------------------------------------------------------------------
// JPEG by patching a real one

/** Rewrites the SOF dimensions of a real JPEG, leaving every other byte alone. */
export function withJpegDimensions(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg)
  let position = 2
  while (position + 4 <= copy.length) {
    const marker = copy[position + 1]!
    const length = copy.readUInt16BE(position + 2)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      copy.writeUInt16BE(height, position + 5)
      copy.writeUInt16BE(width, position + 7)
      return copy
    }
    position += 2 + length
  }
  throw new Error('no SOF marker found')
}

export async function makeJpegHeaderClaiming(width: number, height: number): Promise<Buffer> {
  return withJpegDimensions(await makeJpeg(16, 16), width, height)
}

// ---------------------------------------------------------------------------------------------
// GIF by hand

export interface GifFrame {
  left?: number
  top?: number
  width: number
  height: number
  /** Palette index filling the frame (0 black, 1 white). */
  colour?: 0 | 1
  /**
   * How many pixels of LZW data to write; defaults to the whole frame. A bomb only needs its
   * descriptor: the validator must refuse it before reading a byte of pixel data.
   */
  pixels?: number
}

export interface GifSpec {
  width: number
  height: number
  frames: GifFrame[]
  /** Omit the 0x3B trailer. */
  noTrailer?: boolean
}

const GIF_MIN_CODE_SIZE = 2
const GIF_MAX_RUN = 4000 // restart the dictionary before it reaches 4096 codes

/**
 * LZW data for `count` pixels of one colour. On constant input LZW emits strings of length
 * 1, 2, 3, …, and the string of length L (≥ 2) is always code clear + L, so no dictionary is
 * needed; the code width grows exactly when a decoder's table reaches 2^width entries, and a
 * clear code restarts the run before the table fills. 16 M pixels take about 12 KB.
 */
function lzwConstantColour(colour: number, count: number): Buffer {
  const clear = 1 << GIF_MIN_CODE_SIZE
  const endOfInformation = clear + 1
  const out: number[] = []
  let bitBuffer = 0
  let bitCount = 0
  let width = GIF_MIN_CODE_SIZE + 1
  let tableSize = clear + 2
  let codesSinceClear = 0

  const write = (code: number) => {
    bitBuffer |= code << bitCount
    bitCount += width
    while (bitCount >= 8) {
      out.push(bitBuffer & 0xff)
      bitBuffer >>>= 8
      bitCount -= 8
    }
  }
  const emit = (code: number) => {
    write(code)
    codesSinceClear += 1
    if (codesSinceClear >= 2 && tableSize < 4096) {
      tableSize += 1
      if (tableSize === 1 << width && width < 12) width += 1
    }
  }
  const restart = () => {
    write(clear)
    width = GIF_MIN_CODE_SIZE + 1
    tableSize = clear + 2
    codesSinceClear = 0
  }

  restart()
  let remaining = count
  let runLength = 1
  while (remaining > 0) {
    if (runLength > GIF_MAX_RUN) {
      restart()
      runLength = 1
    }
    const length = Math.min(runLength, remaining)
    emit(length === 1 ? colour : clear + length)
    remaining -= length
    runLength += 1
  }
  write(endOfInformation)
  if (bitCount > 0) out.push(bitBuffer & 0xff)
  return Buffer.from(out)
}

function subBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < data.length; i += 255) {
    const block = data.subarray(i, i + 255)
    parts.push(Buffer.from([block.length]), block)
  }
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}

/** A GIF89a with a two-colour palette (black, white), a looping extension and the given frames. */
export function makeGifFile(spec: GifSpec): Buffer {
  const screen = Buffer.alloc(13)
  screen.write('GIF89a', 0, 'latin1')
  screen.writeUInt16LE(spec.width, 6)
  screen.writeUInt16LE(spec.height, 8)
  screen[10] = 0x80 // global colour table of 2 entries, colour resolution 1
  const palette = Buffer.from([0, 0, 0, 255, 255, 255])
  const loop = Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00])
  const parts: Buffer[] = [screen, palette]
  if (spec.frames.length > 1) parts.push(loop)
  const encoded = new Map<string, Buffer>() // thousands of identical frames are encoded once
  for (const frame of spec.frames) {
    const control = Buffer.from([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00]) // 1/10 s, no transparency
    const descriptor = Buffer.alloc(10)
    descriptor[0] = 0x2c
    descriptor.writeUInt16LE(frame.left ?? 0, 1)
    descriptor.writeUInt16LE(frame.top ?? 0, 3)
    descriptor.writeUInt16LE(frame.width, 5)
    descriptor.writeUInt16LE(frame.height, 7)
    const pixels = frame.pixels ?? frame.width * frame.height
    const key = `${frame.colour ?? 0}:${pixels}`
    const data = encoded.get(key) ?? subBlocks(lzwConstantColour(frame.colour ?? 0, pixels))
    encoded.set(key, data)
    parts.push(control, descriptor, Buffer.from([GIF_MIN_CODE_SIZE]), data)
  }
  if (!spec.noTrailer) parts.push(Buffer.from([0x3b]))
  return Buffer.concat(parts)
}

/**
 * The classic GIF frame bomb: a 1×1 logical screen whose second frame is 20000×20000
 * (400 megapixels, in about 270 KB of real LZW data for a constant colour). A decoder sizing its canvas
 * from the screen and then meeting this frame is what the validator must prevent.
 */
export function makeAnimatedGifFrameBomb(): Buffer {
  return makeGifFile({
    width: 1,
    height: 1,
    frames: [
      { width: 1, height: 1 },
      { width: 20_000, height: 20_000, colour: 1 },
    ],
  })
}

/** A tiny screen with a small frame placed far outside it, at (60000, 60000). */
export function makeGifFrameOutsideScreen(): Buffer {
  return makeGifFile({
    width: 10,
    height: 10,
    frames: [
      { width: 10, height: 10 },
      { left: 60_000, top: 60_000, width: 10, height: 10 },
    ],
  })
}

/** `count` frames of 1×1: a CPU bomb when the count runs into thousands. */
export function makeGifWithFrames(count: number, width = 1, height = 1): Buffer {
  return makeGifFile({
    width,
    height,
    frames: Array.from({ length: count }, (_, i) => ({ width, height, colour: (i % 2) as 0 | 1 })),
  })
}

// ---------------------------------------------------------------------------------------------
// EXIF inspection for assertions

/**
 * Whether a raw EXIF block (as sharp's metadata().exif returns it, "Exif\0\0" + TIFF) has a
 * GPS IFD pointer (tag 0x8825) in IFD0. Enough to prove a fixture carries a location.
 */
export function exifHasGps(exif: Buffer | undefined): boolean {
  if (!exif) return false
  const tiff = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? exif.subarray(6) : exif
  const littleEndian = tiff.toString('latin1', 0, 2) === 'II'
  const u16 = (at: number) => (littleEndian ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at))
  const u32 = (at: number) => (littleEndian ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at))
  const ifd0 = u32(4)
  const entries = u16(ifd0)
  for (let i = 0; i < entries; i++) {
    if (u16(ifd0 + 2 + i * 12) === 0x8825) return true
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// The shared corpus of real-world files

/** `<repo>/../shared/corpora/images`, beside the repository, never copied into it. */
export function imageCorpusDir(): string {
  const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const beside = (root: string) => join(root, '..', 'shared', 'corpora', 'images')
  if (existsSync(beside(repositoryRoot))) return beside(repositoryRoot)
  // A local clone (a CI check in a scratch folder) finds the corpus beside the checkout it came from.
  try {
    const origin = execFileSync('git', ['-C', repositoryRoot, 'config', '--get', 'remote.origin.url'], {
      encoding: 'utf8',
    }).trim()
    if (isAbsolute(origin) && existsSync(beside(origin))) return beside(origin)
  } catch {
    // not a git checkout, or no origin: the corpus is only looked for beside the repository
  }
  return beside(repositoryRoot)
}

export const imageCorpusPresent = () => existsSync(join(imageCorpusDir(), 'MANIFEST.tsv'))
