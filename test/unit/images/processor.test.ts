import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import sharp from 'sharp'
import {
  AVATAR_MAX_EDGE_PX,
  createImageProcessor,
  DEFAULT_IMAGE_LIMITS,
  ImageRejectedError,
  type ImageProcessor,
  type ProcessedImage,
  type RejectionReason,
} from '../../../src/images/index.ts'
import { reencodeFirstFrame, rejectionFromDecoder } from '../../../src/images/reencode.ts'
import {
  htmlPage,
  insertPngChunkAfterIhdr,
  exifHasGps,
  makeAnimatedGif,
  makeAnimatedGifFrameBomb,
  makeBmp,
  makeGif,
  makeGifFile,
  makeGifFrameOutsideScreen,
  makeGifWithFrames,
  makeJpeg,
  makePng,
  makePngHeaderClaiming,
  makeTiff,
  makeWebp,
  makeZeroPngBomb,
  pseudoRandomBytes,
  svgWithScript,
  textChunk,
  truncate,
} from '../../support/images.ts'

const processor = createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS })

async function rejected(promise: Promise<unknown>, reason: RejectionReason): Promise<ImageRejectedError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof ImageRejectedError, `expected an ImageRejectedError, got ${String(error)}`)
    assert.equal(error.reason, reason, error.detail)
    assert.equal(error.message, error.publicMessage)
    return error
  }
  assert.fail(`expected a "${reason}" rejection`)
}

/** The stored bytes must decode, by themselves, as what the content type says. */
async function assertRealImage(result: ProcessedImage) {
  const metadata = await sharp(result.data).metadata()
  assert.equal(`image/${metadata.format}`, result.contentType)
  assert.deepEqual([metadata.width, metadata.height], [result.width, result.height])
  assert.ok(result.width <= AVATAR_MAX_EDGE_PX && result.height <= AVATAR_MAX_EDGE_PX)
  assert.equal(metadata.exif, undefined, 'no EXIF')
  assert.equal(metadata.xmp, undefined, 'no XMP')
  assert.equal(metadata.icc, undefined, 'no ICC profile')
  assert.equal(metadata.pages ?? 1, 1, 'one frame')
  return metadata
}

describe('accepted uploads are re-encoded', () => {
  test('a 1024×768 JPEG stays JPEG, at 512×384', async () => {
    const result = await processor.process(await makeJpeg(1024, 768, { noise: true }))
    assert.deepEqual(
      { ...result, data: undefined },
      {
        data: undefined,
        contentType: 'image/jpeg',
        width: 512,
        height: 384,
        sourceFormat: 'jpeg',
        sourceWidth: 1024,
        sourceHeight: 768,
      },
    )
    await assertRealImage(result)
  })

  test('a 1024×768 PNG stays PNG, transparency kept', async () => {
    const result = await processor.process(await makePng(1024, 768, { alpha: true }))
    assert.equal(result.contentType, 'image/png')
    assert.deepEqual([result.width, result.height, result.sourceFormat], [512, 384, 'png'])
    assert.equal((await assertRealImage(result)).hasAlpha, true)
  })

  test('a 1024×768 GIF becomes a PNG of its first frame', async () => {
    const result = await processor.process(await makeGif(1024, 768))
    assert.deepEqual(
      [result.contentType, result.width, result.height, result.sourceFormat],
      ['image/png', 512, 384, 'gif'],
    )
    await assertRealImage(result)
  })

  test('exactly 4096×4096 is accepted, as JPEG and as PNG', async () => {
    for (const image of [await makeJpeg(4096, 4096), await makePng(4096, 4096)]) {
      const result = await processor.process(image)
      assert.deepEqual([result.width, result.height, result.sourceWidth, result.sourceHeight], [512, 512, 4096, 4096])
    }
  })

  test('an image smaller than 512×512 is never enlarged', async () => {
    const result = await processor.process(await makePng(100, 50))
    assert.deepEqual([result.width, result.height], [100, 50])
  })

  test('EXIF, with its GPS position, is gone from the stored image', async () => {
    const upload = await makeJpeg(640, 480, { exifGps: true })
    assert.equal(exifHasGps((await sharp(upload).metadata()).exif), true, 'the fixture carries a GPS position')
    const result = await processor.process(upload)
    await assertRealImage(result)
    assert.equal(result.data.includes('FixtureCam'), false)
  })

  test('the image is turned upright from its EXIF orientation before resizing', async () => {
    // Stored 1000×500 with orientation 6 (rotate 90° clockwise to view): upright it is 500×1000.
    const result = await processor.process(await makeJpeg(1000, 500, { orientation: 6 }))
    assert.deepEqual([result.width, result.height], [256, 512])
    assert.equal((await sharp(result.data).metadata()).orientation, undefined)
  })

  test('PNG text chunks (a PHP web shell, say) are not carried over', async () => {
    const upload = insertPngChunkAfterIhdr(await makePng(64, 64), textChunk('Comment', '<?php system($_GET["c"]); ?>'))
    assert.equal((await sharp(upload).metadata()).format, 'png', 'the fixture is still a valid PNG')
    const result = await processor.process(upload)
    assert.equal(result.data.includes('<?php'), false)
    assert.equal(result.data.includes('tEXt'), false)
  })

  test('an animation is reduced to its first frame', async () => {
    const result = await processor.process(await makeAnimatedGif(64, 48, 3))
    const metadata = await assertRealImage(result)
    assert.equal(metadata.height, 48)
    const { data } = await sharp(result.data).raw().toBuffer({ resolveWithObject: true })
    assert.deepEqual([data[0], data[2]], [255, 0], 'the first frame is the red one')
  })

  test('1,000 frames are within the limits and accepted', async () => {
    const result = await processor.process(makeGifWithFrames(1000, 2, 2))
    assert.deepEqual([result.width, result.height], [2, 2])
  })

  /**
   * Runs the tasks together and returns the most sharp pipelines seen decoding at once.
   * (sharp's `process` counter; its `queue` counter also counts header reads and can briefly
   * run one ahead as a slot passes from one upload to the next.)
   */
  async function busiestDecoding<T>(tasks: Array<() => Promise<T>>): Promise<{ results: T[]; busiest: number }> {
    let busiest = 0
    let running = true
    const watch = () => {
      busiest = Math.max(busiest, sharp.counters().process)
      if (running) setImmediate(watch)
    }
    watch()
    const results = await Promise.all(tasks.map((task) => task()))
    running = false
    return { results, busiest }
  }

  test('ten concurrent validations all succeed, never more than two decoding at once', async () => {
    const upload = await makeJpeg(1024, 768, { noise: true })
    const { results, busiest } = await busiestDecoding(
      Array.from({ length: 10 }, () => () => processor.process(upload)),
    )
    assert.equal(results.length, 10)
    for (const result of results) assert.deepEqual([result.width, result.height], [512, 384])
    assert.ok(busiest >= 1 && busiest <= 2, `sharp decoded ${busiest} images at once`)

    const single = createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS, maxConcurrent: 1 })
    const one = await busiestDecoding(Array.from({ length: 10 }, () => () => single.process(upload)))
    assert.equal(one.busiest, 1, 'maxConcurrent: 1 decodes one image at a time')

    // Without the queue, the same burst goes straight to libuv's four pool threads.
    const bare = await busiestDecoding(Array.from({ length: 10 }, () => () => sharp(upload).resize(512).toBuffer()))
    assert.ok(bare.busiest > 2, `unqueued, sharp decoded ${bare.busiest} at once`)
  })
})

describe('rejected uploads', () => {
  describe('"Unsupported image format", whatever the name or declared type', () => {
    const cases: Array<[string, () => Buffer | Promise<Buffer>, string]> = [
      ['BMP', () => makeBmp(), 'bmp'],
      ['TIFF', () => makeTiff(), 'tiff'],
      ['SVG with a script', () => svgWithScript, 'svg'],
      ['WebP', () => makeWebp(), 'webp'],
      ['HTML', () => htmlPage, 'html'],
      ['random bytes named .png', () => pseudoRandomBytes(2048), 'unknown'],
      ['an empty file', () => Buffer.alloc(0), 'empty'],
    ]
    for (const [name, build, detected] of cases) {
      test(name, async () => {
        const error = await rejected(processor.process(await build()), 'unsupported_format')
        assert.equal(error.message, 'Unsupported image format')
        assert.equal(error.format, detected)
      })
    }
  })

  describe('"Image dimensions too large"', () => {
    let images: Record<string, Buffer>
    before(async () => {
      images = {
        'JPEG 5000×1000': await makeJpeg(5000, 1000),
        'JPEG 1000×5000': await makeJpeg(1000, 5000),
        'PNG 5000×1000': await makePng(5000, 1000),
        'PNG 1000×5000': await makePng(1000, 5000),
        'GIF 5000×1000': makeGifFile({ width: 5000, height: 1000, frames: [{ width: 5000, height: 1000 }] }),
        'GIF 1000×5000': makeGifFile({ width: 1000, height: 5000, frames: [{ width: 1000, height: 5000 }] }),
        'PNG 4097×4096': await makePng(4097, 4096),
      }
    })

    test('5000×1000 and 1000×5000, in each format; 4097 wide', async () => {
      for (const [name, image] of Object.entries(images)) {
        const error = await rejected(processor.process(image), 'dimensions')
        assert.equal(error.message, 'Image dimensions too large')
        const [width, height] = name.split(' ')[1]!.split('×').map(Number)
        assert.deepEqual(
          [error.format, error.width, error.height],
          [name.split(' ')[0]!.toLowerCase(), width, height],
          name,
        )
      }
    })

    test('a real 30000×30000 decompression bomb, refused by its header, not the decoder', async () => {
      const error = await rejected(processor.process(makeZeroPngBomb()), 'dimensions')
      assert.doesNotMatch(error.detail, /^decoder/)
    })

    test('a header claiming 100000×100000, refused without decoding', async () => {
      const error = await rejected(processor.process(makePngHeaderClaiming(100_000, 100_000)), 'dimensions')
      assert.deepEqual([error.width, error.height], [100_000, 100_000])
      assert.doesNotMatch(error.detail, /^decoder/)
    })

    test('animated-GIF frame bombs: a huge frame, a frame placed far away, 40,000 frames', async () => {
      await rejected(processor.process(makeAnimatedGifFrameBomb()), 'dimensions')
      await rejected(processor.process(makeGifFrameOutsideScreen()), 'dimensions')
      const error = await rejected(processor.process(makeGifWithFrames(40_000)), 'dimensions')
      assert.equal(error.frames, 1001)
    })

    test('the configured limits are the ones applied', async () => {
      const small = createImageProcessor({
        limits: { maxWidth: 100, maxHeight: 100, maxFrames: 10, maxTotalPixels: 10_000 },
      })
      assert.equal((await small.process(await makePng(100, 100))).width, 100)
      await rejected(small.process(await makePng(101, 100)), 'dimensions')
    })
  })

  describe('"Invalid image"', () => {
    test('a truncated PNG, JPEG and GIF', async () => {
      const png = await makePng(300, 200, { alpha: true })
      const jpeg = await makeJpeg(300, 200, { noise: true })
      const gif = makeGifFile({ width: 300, height: 200, frames: [{ width: 300, height: 200 }] })
      for (const [format, image] of [
        ['png', png],
        ['jpeg', jpeg],
        ['gif', gif],
      ] as const) {
        const error = await rejected(processor.process(truncate(image, Math.floor(image.length * 0.6))), 'invalid')
        assert.equal(error.message, 'Invalid image')
        assert.deepEqual([error.format, error.width, error.height], [format, 300, 200])
      }
    })

    test('corrupt data the header walk cannot see is refused by the decoder', async () => {
      const png = await makePng(64, 64, { alpha: true })
      const idatData = png.indexOf('IDAT') + 4
      const corrupt = Buffer.from(png)
      corrupt.fill(0xff, idatData + 2, idatData + 40) // the deflate stream, not the chunk structure
      const error = await rejected(processor.process(corrupt), 'invalid')
      assert.match(error.detail, /^decoder/)
    })
  })
})

describe('the decoding step on its own', () => {
  const limits = DEFAULT_IMAGE_LIMITS
  const header = { format: 'jpeg' as const, width: 16, height: 16, frames: 1, canvasWidth: 16, canvasHeight: 16 }

  test('refuses a file the decoder reads as another format than the one vetted', async () => {
    const error = await rejected(
      reencodeFirstFrame(await makePng(16, 16), header, { limits, timeoutSeconds: 5 }),
      'invalid',
    )
    assert.match(error.detail, /as png, not jpeg/)
  })

  test('refuses a size the decoder sees over the limits, even if the header walk missed it', async () => {
    const wide = await makeJpeg(5000, 10)
    const error = await rejected(reencodeFirstFrame(wide, header, { limits, timeoutSeconds: 5 }), 'dimensions')
    assert.match(error.detail, /5000×10/)
  })

  test('decoder failures map onto the contract reasons', () => {
    const facts = { format: 'png' }
    const timeout = rejectionFromDecoder(new Error('timeout: 42% complete'), facts) as ImageRejectedError
    assert.deepEqual([timeout.reason, timeout.format], ['invalid', 'png'])
    assert.match(timeout.detail, /time budget/)
    const pixels = rejectionFromDecoder(new Error('Input image exceeds pixel limit'), facts) as ImageRejectedError
    assert.equal(pixels.reason, 'dimensions')
    const other = rejectionFromDecoder('VipsJpeg: premature end of JPEG image\nmore', facts) as ImageRejectedError
    assert.deepEqual([other.reason, other.detail], ['invalid', 'decoder: VipsJpeg: premature end of JPEG image'])
    const passThrough = new ImageRejectedError('dimensions', 'x')
    assert.equal(rejectionFromDecoder(passThrough, facts), passThrough)
  })
})

describe('createImageProcessor options', () => {
  test('limits, concurrency and the time budget must be sane', () => {
    assert.throws(() => createImageProcessor({ limits: { ...DEFAULT_IMAGE_LIMITS, maxWidth: 0 } }), RangeError)
    assert.throws(
      () => createImageProcessor({ limits: { ...DEFAULT_IMAGE_LIMITS, maxFrames: Number.NaN } }),
      RangeError,
    )
    assert.throws(() => createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS, maxConcurrent: 0 }), RangeError)
    assert.throws(() => createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS, decodeTimeoutSeconds: 0.5 }), RangeError)
  })

  test('a caller passing something other than a Buffer is a programming error, not a rejection', async () => {
    const typed = processor as ImageProcessor & { process(input: unknown): Promise<ProcessedImage> }
    await assert.rejects(typed.process('not bytes'), TypeError)
  })
})
