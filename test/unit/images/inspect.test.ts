import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { deflateSync } from 'node:zlib'
import { DEFAULT_IMAGE_LIMITS, ImageRejectedError, type ImageLimits } from '../../../src/images/index.ts'
import { inspectImageHeader } from '../../../src/images/inspect.ts'
import { MAX_JPEG_SCANS } from '../../../src/images/inspect-jpeg.ts'
import type { ImageFormat } from '../../../src/images/types.ts'
import {
  actl,
  assemblePng,
  fctl,
  ihdr,
  makeAnimatedGifFrameBomb,
  makeGif,
  makeGifFile,
  makeGifFrameOutsideScreen,
  makeGifWithFrames,
  makeJpeg,
  makePng,
  makePngHeaderClaiming,
  makeTinyPng,
  makeZeroPngBomb,
  pngChunk,
  pseudoRandomBytes,
  truncate,
  withJpegDimensions,
} from '../../support/images.ts'

const limits = DEFAULT_IMAGE_LIMITS

function rejection(run: () => unknown): ImageRejectedError {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof ImageRejectedError, `expected an ImageRejectedError, got ${String(error)}`)
    return error
  }
  assert.fail('expected the file to be rejected')
}

const inspect = (bytes: Buffer, format: ImageFormat, custom: ImageLimits = limits) =>
  inspectImageHeader(bytes, format, custom)
const tooLarge = (bytes: Buffer, format: ImageFormat, custom?: ImageLimits) => {
  const error = rejection(() => inspect(bytes, format, custom))
  assert.equal(error.reason, 'dimensions', error.detail)
  assert.equal(error.message, 'Image dimensions too large')
  return error
}
const invalid = (bytes: Buffer, format: ImageFormat) => {
  const error = rejection(() => inspect(bytes, format))
  assert.equal(error.reason, 'invalid', error.detail)
  assert.equal(error.message, 'Invalid image')
  return error
}

describe('PNG header', () => {
  test('reads the IHDR size of an encoder-made PNG', async () => {
    assert.deepEqual(inspect(await makePng(1024, 768), 'png'), {
      format: 'png',
      width: 1024,
      height: 768,
      frames: 1,
      canvasWidth: 1024,
      canvasHeight: 768,
    })
  })

  test('4096×4096 passes; 4097 wide or 4097 tall is too large', () => {
    assert.equal(inspect(makePngHeaderClaiming(4096, 4096), 'png').width, 4096)
    const wide = tooLarge(makePngHeaderClaiming(4097, 1), 'png')
    assert.deepEqual([wide.format, wide.width, wide.height], ['png', 4097, 1])
    tooLarge(makePngHeaderClaiming(1, 4097), 'png')
  })

  test('a header claiming 100000×100000 is refused from its 33 header bytes', () => {
    const error = tooLarge(makePngHeaderClaiming(100_000, 100_000), 'png')
    assert.equal(error.width, 100_000)
    assert.equal(error.height, 100_000)
  })

  test('a real 30000×30000 bomb of zeros is refused without inflating it', () => {
    const error = tooLarge(makeZeroPngBomb(), 'png')
    assert.deepEqual([error.width, error.height], [30_000, 30_000])
  })

  test('dimensions are judged before the IHDR CRC, so a bomb with a bad CRC is still "too large"', () => {
    const bomb = makePngHeaderClaiming(8363, 1)
    bomb[29] = bomb[29]! ^ 0xff // the IHDR CRC
    tooLarge(bomb, 'png')
    const small = makeTinyPng()
    small[29] = small[29]! ^ 0xff
    assert.match(invalid(small, 'png').detail, /IHDR CRC/)
  })

  test('zero width, undefined colour types and bit depths are invalid', () => {
    invalid(makePngHeaderClaiming(0, 10), 'png')
    invalid(assemblePng(ihdr(4, 4, 8, 1), pngChunk('IDAT', deflateSync(Buffer.alloc(20)))), 'png')
    invalid(assemblePng(ihdr(4, 4, 3, 2), pngChunk('IDAT', deflateSync(Buffer.alloc(20)))), 'png')
    invalid(assemblePng(ihdr(4, 4, 8, 0, 2), pngChunk('IDAT', deflateSync(Buffer.alloc(20)))), 'png')
    const badCompression = makeTinyPng()
    badCompression[26] = 1
    invalid(badCompression, 'png')
  })

  test('IHDR must come first, once, with 13 bytes', () => {
    const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(20)))
    invalid(assemblePng(idat, ihdr(4, 4)), 'png')
    invalid(assemblePng(ihdr(4, 4), ihdr(4, 4), idat), 'png')
    const longIhdr = assemblePng(pngChunk('IHDR', Buffer.alloc(14, 1)), idat)
    invalid(longIhdr, 'png')
    invalid(truncate(makeTinyPng(), 20), 'png')
  })

  test('a chunk claiming a gigabyte is refused from its length, never read', () => {
    const header = Buffer.concat([
      makeTinyPng().subarray(0, 33),
      Buffer.from([0x3f, 0xff, 0xff, 0xff]),
      Buffer.from('tEXt'),
    ])
    assert.match(invalid(header, 'png').detail, /runs past the end/)
    const overSpec = Buffer.concat([makeTinyPng().subarray(0, 33), Buffer.from([0x80, 0, 0, 0]), Buffer.from('tEXt')])
    assert.match(invalid(overSpec, 'png').detail, /over 2\^31-1/)
  })

  test('a file cut inside a chunk header or a chunk is invalid', async () => {
    const png = await makePng(64, 64)
    invalid(truncate(png, 36), 'png')
    invalid(truncate(png, png.length - 20), 'png')
  })

  test('chunk types must be letters; an image needs an IDAT', () => {
    invalid(assemblePng(ihdr(4, 4), pngChunk('ID4T', Buffer.alloc(4))), 'png')
    invalid(assemblePng(ihdr(4, 4)), 'png')
  })

  test('a missing IEND or bytes after it are left to the decoder', () => {
    const png = makeTinyPng()
    assert.equal(inspect(png.subarray(0, png.length - 12), 'png').width, 4)
    assert.equal(inspect(Buffer.concat([png, Buffer.from('<?php ?>')]), 'png').width, 4)
  })

  test('APNG: 1,000 declared frames pass, 1,001 are too large', () => {
    const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(2)))
    assert.equal(inspect(assemblePng(ihdr(1, 1), actl(1000), idat), 'png').frames, 1000)
    const error = tooLarge(assemblePng(ihdr(1, 1), actl(1001), idat), 'png')
    assert.equal(error.frames, 1001)
    tooLarge(assemblePng(ihdr(1, 1), actl(2 ** 31 + 1), idat), 'png')
  })

  test('APNG: frames × pixels of exactly 2^26 pass, one frame more is too large', () => {
    const idat = pngChunk('IDAT', Buffer.alloc(0))
    assert.equal(inspect(assemblePng(ihdr(4096, 4096), actl(4), idat), 'png').frames, 4)
    tooLarge(assemblePng(ihdr(4096, 4096), actl(5), idat), 'png')
  })

  test('APNG: an fcTL rectangle whose right or bottom edge passes the limits is too large', () => {
    const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(2)))
    const atEdge = assemblePng(
      ihdr(1, 1),
      actl(2),
      fctl(0, { left: 0, top: 0, width: 1, height: 1 }),
      idat,
      fctl(1, { left: 4095, top: 4095, width: 1, height: 1 }),
    )
    assert.deepEqual([inspect(atEdge, 'png').canvasWidth, inspect(atEdge, 'png').canvasHeight], [4096, 4096])
    tooLarge(assemblePng(ihdr(1, 1), actl(2), idat, fctl(1, { left: 4096, top: 0, width: 1, height: 1 })), 'png')
    tooLarge(assemblePng(ihdr(1, 1), actl(2), idat, fctl(1, { left: 0, top: 0, width: 1, height: 60_000 })), 'png')
  })

  test('acTL after the first IDAT is not an APNG and declares nothing', () => {
    const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(2)))
    assert.equal(inspect(assemblePng(ihdr(1, 1), idat, actl(5000)), 'png').frames, 1)
  })

  test('acTL and fcTL of the wrong length are invalid', () => {
    const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(2)))
    invalid(assemblePng(ihdr(1, 1), pngChunk('acTL', Buffer.alloc(4)), idat), 'png')
    invalid(assemblePng(ihdr(1, 1), pngChunk('fcTL', Buffer.alloc(8)), idat), 'png')
  })

  test('limits come from the caller: 100×50 passes a 100×50 limit, 101 does not', () => {
    const small: ImageLimits = { maxWidth: 100, maxHeight: 50, maxFrames: 1, maxTotalPixels: 5000 }
    assert.equal(inspect(makePngHeaderClaiming(100, 50), 'png', small).width, 100)
    tooLarge(makePngHeaderClaiming(101, 50), 'png', small)
    tooLarge(makePngHeaderClaiming(100, 51), 'png', small)
    const fewPixels: ImageLimits = { maxWidth: 10_000, maxHeight: 10_000, maxFrames: 1, maxTotalPixels: 2 ** 26 }
    assert.equal(inspect(makePngHeaderClaiming(8192, 8192), 'png', fewPixels).width, 8192)
    tooLarge(makePngHeaderClaiming(8192, 8193), 'png', fewPixels)
  })
})

/** A JPEG made of marker segments only, enough for the header walk: SOI, SOF0, scans, EOI. */
function syntheticJpeg(
  options: { width?: number; height?: number; scans?: number; beforeFrame?: Buffer[] } = {},
): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00])
  sof.writeUInt16BE(options.height ?? 8, 5)
  sof.writeUInt16BE(options.width ?? 8, 7)
  const scan = Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x12, 0xff, 0x00, 0x34])
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    ...(options.beforeFrame ?? []),
    sof,
    ...Array.from({ length: options.scans ?? 1 }, () => scan),
    Buffer.from([0xff, 0xd9]),
  ])
}

describe('JPEG header', () => {
  let jpeg: Buffer
  let progressive: Buffer
  before(async () => {
    jpeg = await makeJpeg(1024, 768, { exifGps: true })
    progressive = await makeJpeg(256, 128, { noise: true, progressive: true })
  })

  test('reads the SOF size of encoder-made baseline and progressive JPEGs', () => {
    assert.deepEqual(inspect(jpeg, 'jpeg'), {
      format: 'jpeg',
      width: 1024,
      height: 768,
      frames: 1,
      canvasWidth: 1024,
      canvasHeight: 768,
    })
    assert.equal(inspect(progressive, 'jpeg').width, 256)
  })

  test('4096×4096 passes; 4097 wide or tall, or 64250×64250, is too large', () => {
    assert.equal(inspect(withJpegDimensions(jpeg, 4096, 4096), 'jpeg').height, 4096)
    tooLarge(withJpegDimensions(jpeg, 4097, 4096), 'jpeg')
    tooLarge(withJpegDimensions(jpeg, 4096, 4097), 'jpeg')
    const bomb = tooLarge(withJpegDimensions(jpeg, 64250, 64250), 'jpeg')
    assert.deepEqual([bomb.format, bomb.width, bomb.height], ['jpeg', 64250, 64250])
  })

  test('a zero width, or a zero height left for a DNL marker, is invalid', () => {
    invalid(syntheticJpeg({ width: 0 }), 'jpeg')
    invalid(syntheticJpeg({ height: 0 }), 'jpeg')
  })

  test('cut anywhere before EOI, it is invalid', () => {
    for (const keep of [3, 4, 20, 200, jpeg.length - 300, jpeg.length - 2, jpeg.length - 1]) {
      invalid(truncate(jpeg, keep), 'jpeg')
    }
    invalid(truncate(syntheticJpeg(), 17), 'jpeg')
  })

  test('no SOF, a scan before the SOF, or no scan at all is invalid', () => {
    invalid(Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'jpeg')
    invalid(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x00]), Buffer.from([0xff, 0xd9])]), 'jpeg')
    invalid(syntheticJpeg({ scans: 0 }), 'jpeg')
  })

  test('segment lengths below 2 or past the end of the file are invalid', () => {
    invalid(syntheticJpeg({ beforeFrame: [Buffer.from([0xff, 0xfe, 0x00, 0x00])] }), 'jpeg')
    const app1TooLong = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x25, 0x46]), Buffer.alloc(1000)])
    assert.match(invalid(app1TooLong, 'jpeg').detail, /runs past the end/)
  })

  test('reserved markers and a second SOI are invalid', () => {
    invalid(syntheticJpeg({ beforeFrame: [Buffer.from([0xff, 0x02, 0x00, 0x02])] }), 'jpeg')
    invalid(syntheticJpeg({ beforeFrame: [Buffer.from([0xff, 0xd8])] }), 'jpeg')
  })

  test('stray bytes, fill bytes and a stray FF00 between segments are tolerated, as libjpeg does', () => {
    const stray = syntheticJpeg({
      beforeFrame: [
        Buffer.from([0x12, 0x34]),
        Buffer.from([0xff, 0xff, 0xff, 0xfe, 0x00, 0x03, 0x41]),
        Buffer.from([0xff, 0x00]),
      ],
    })
    assert.equal(inspect(stray, 'jpeg').width, 8)
    assert.equal(inspect(syntheticJpeg({ beforeFrame: [Buffer.from([0xff, 0x01, 0xff, 0xd0])] }), 'jpeg').width, 8)
  })

  test(`${MAX_JPEG_SCANS} scans pass; one more is refused as a CPU bomb`, () => {
    assert.equal(inspect(syntheticJpeg({ scans: MAX_JPEG_SCANS }), 'jpeg').width, 8)
    assert.match(invalid(syntheticJpeg({ scans: MAX_JPEG_SCANS + 1 }), 'jpeg').detail, /scans/)
  })
})

describe('GIF header: the logical screen and every frame', () => {
  test('reads an encoder-made GIF', async () => {
    assert.deepEqual(inspect(await makeGif(1024, 768), 'gif'), {
      format: 'gif',
      width: 1024,
      height: 768,
      frames: 1,
      canvasWidth: 1024,
      canvasHeight: 768,
    })
  })

  test('4096×4096 passes; a 4097 logical screen is too large', () => {
    assert.equal(
      inspect(makeGifFile({ width: 4096, height: 4096, frames: [{ width: 4096, height: 4096 }] }), 'gif').width,
      4096,
    )
    tooLarge(makeGifFile({ width: 4097, height: 1, frames: [{ width: 1, height: 1 }] }), 'gif')
    tooLarge(makeGifFile({ width: 1, height: 4097, frames: [{ width: 1, height: 1 }] }), 'gif')
  })

  test('a frame larger than a tiny logical screen is a bomb', () => {
    const error = tooLarge(makeAnimatedGifFrameBomb(), 'gif')
    assert.deepEqual([error.width, error.height, error.frames], [1, 1, 2])
    assert.match(error.detail, /20000×20000/)
  })

  test('a frame placed far outside the logical screen is a bomb', () => {
    tooLarge(makeGifFrameOutsideScreen(), 'gif')
  })

  test('a frame reaching exactly 4096 passes; one pixel further is too large', () => {
    const edge = (left: number) =>
      makeGifFile({ width: 10, height: 10, frames: [{ left, top: 4000, width: 10, height: 96, pixels: 1 }] })
    assert.deepEqual([inspect(edge(4086), 'gif').canvasWidth, inspect(edge(4086), 'gif').canvasHeight], [4096, 4096])
    tooLarge(edge(4087), 'gif')
  })

  test('1,000 frames pass; the 1,001st is refused as soon as it is met', () => {
    assert.equal(inspect(makeGifWithFrames(1000), 'gif').frames, 1000)
    const error = tooLarge(makeGifWithFrames(40_000), 'gif')
    assert.equal(error.frames, 1001)
  })

  test('frames × canvas of exactly 2^26 pass; one frame more is too large', () => {
    const frames = (count: number) =>
      makeGifFile({
        width: 4096,
        height: 4096,
        frames: Array.from({ length: count }, () => ({ width: 4096, height: 4096, pixels: 1 })),
      })
    assert.equal(inspect(frames(4), 'gif').frames, 4)
    tooLarge(frames(5), 'gif')
  })

  test('the canvas counted is the one holding every frame, not the logical screen', () => {
    const withTotal = (maxTotalPixels: number): ImageLimits => ({
      maxWidth: 4096,
      maxHeight: 4096,
      maxFrames: 1000,
      maxTotalPixels,
    })
    const spread = makeGifFile({
      width: 100,
      height: 100,
      frames: [
        { width: 100, height: 100 },
        { left: 50, top: 50, width: 100, height: 100 },
      ],
    })
    // 2 frames × 150×150 = 45,000 pixels; counted on the 100×100 screen it would be 20,000.
    assert.equal(inspect(spread, 'gif', withTotal(45_000)).canvasWidth, 150)
    tooLarge(spread, 'gif', withTotal(44_999))
    tooLarge(spread, 'gif', withTotal(20_000))
  })

  test('a file cut inside the screen, palette, a descriptor, an extension or the data is invalid', () => {
    const gif = makeGifFile({ width: 20, height: 20, frames: [{ width: 20, height: 20 }] })
    for (const keep of [10, 14, 30, 40, gif.length - 2]) invalid(truncate(gif, keep), 'gif')
  })

  test('a GIF with no frame, or an unknown block, is invalid', () => {
    const gif = makeGifFile({ width: 2, height: 2, frames: [{ width: 2, height: 2 }] })
    invalid(Buffer.concat([gif.subarray(0, 19), Buffer.from([0x3b])]), 'gif')
    invalid(Buffer.concat([gif.subarray(0, gif.length - 1), Buffer.from([0x99, 0x3b])]), 'gif')
  })

  test('a missing trailer after complete frames, and a zero-sized screen, are left to the decoder', () => {
    assert.equal(
      inspect(makeGifFile({ width: 2, height: 2, frames: [{ width: 2, height: 2 }], noTrailer: true }), 'gif').frames,
      1,
    )
    assert.equal(inspect(makeGifFile({ width: 0, height: 0, frames: [{ width: 2, height: 2 }] }), 'gif').canvasWidth, 2)
  })
})

describe('the header walk never fails in any other way', () => {
  /** Reproducible byte positions in [0, max), three random bytes each. */
  const seededPositions = (seed: number, count: number, max: number) => {
    const random = pseudoRandomBytes(count * 3, seed)
    return Array.from({ length: count }, (_, i) => random.readUIntBE(i * 3, 3) % max)
  }

  for (const [format, build] of [
    ['png', () => makePng(40, 30, { alpha: true })],
    ['jpeg', () => makeJpeg(40, 30, { exifGps: true })],
    ['gif', () => Promise.resolve(makeGifWithFrames(3, 5, 4))],
  ] as const) {
    test(`${format}: every prefix and 500 single-byte corruptions give a result or a rejection`, async () => {
      const original = await build()
      for (let keep = 0; keep <= original.length; keep++) {
        try {
          inspect(truncate(original, keep), format)
        } catch (error) {
          assert.ok(error instanceof ImageRejectedError, `prefix of ${keep} bytes: ${String(error)}`)
        }
      }
      for (const position of seededPositions(7, 500, original.length)) {
        const corrupt = Buffer.from(original)
        corrupt[position] = corrupt[position]! ^ 0xa5
        try {
          inspect(corrupt, format)
        } catch (error) {
          assert.ok(error instanceof ImageRejectedError, `byte ${position} flipped: ${String(error)}`)
        }
      }
    })
  }
})
