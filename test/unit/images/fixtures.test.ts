/**
 * The hand-made fixtures are what they claim to be: otherwise a bomb test would prove nothing.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createInflate } from 'node:zlib'
import sharp from 'sharp'
import {
  exifHasGps,
  idatOf,
  makeAnimatedGifFrameBomb,
  makeGifFile,
  makeJpeg,
  makeTinyPng,
  makeZeroPngBomb,
  pseudoRandomBytes,
} from '../../support/images.ts'

/** Inflates a zlib stream chunk by chunk, counting bytes without ever holding them all. */
async function inflatedLength(zlibStream: Buffer): Promise<number> {
  const inflate = createInflate({ chunkSize: 4 * 1024 * 1024 })
  let total = 0
  inflate.on('data', (chunk: Buffer) => {
    total += chunk.length
  })
  const done = new Promise<void>((resolve, reject) => {
    inflate.on('end', resolve)
    inflate.on('error', reject)
  })
  inflate.end(zlibStream)
  await done
  return total
}

describe('hand-made fixtures', () => {
  test('the 30000×30000 bomb is real: its ~110 KB of IDAT inflate to every one of its 112 MB of rows', async () => {
    const bomb = makeZeroPngBomb()
    assert.ok(bomb.length < 200_000, `${bomb.length} bytes`)
    assert.equal(await inflatedLength(idatOf(bomb)), 30_000 * (1 + 30_000 / 8))
  })

  test('the bomb builder makes PNGs a strict decoder accepts, all zeros', async () => {
    const small = makeZeroPngBomb(300, 201)
    const stats = await sharp(small, { failOn: 'warning' }).stats()
    assert.deepEqual([stats.channels[0]!.min, stats.channels[0]!.max], [0, 0])
    assert.equal((await sharp(small).metadata()).height, 201)
    assert.equal((await sharp(makeTinyPng(), { failOn: 'warning' }).metadata()).width, 4)
  })

  test('hand-encoded GIF frames decode exactly, small or past a dictionary restart (8,002,000 pixels)', async () => {
    for (const [width, height] of [
      [1, 1],
      [7, 3],
      [4096, 2048],
    ] as const) {
      const gif = makeGifFile({ width, height, frames: [{ width, height, colour: 1 }] })
      const red = await sharp(gif, { failOn: 'warning' }).extractChannel(0).raw().toBuffer()
      assert.equal(red.length, width * height)
      assert.equal(red.indexOf(0), -1, `${width}×${height} is white throughout`)
    }
    const animation = makeGifFile({
      width: 3,
      height: 2,
      frames: [
        { width: 3, height: 2 },
        { width: 3, height: 2, colour: 1 },
      ],
    })
    assert.equal((await sharp(animation, { failOn: 'warning', pages: -1 }).metadata()).pages, 2)
  })

  test('the GIF frame bomb carries real pixel data for its 20000×20000 frame', () => {
    const bomb = makeAnimatedGifFrameBomb()
    const second = bomb.lastIndexOf(Buffer.from([0x2c, 0, 0, 0, 0, 0x20, 0x4e, 0x20, 0x4e]))
    assert.ok(second > 0, 'the second image descriptor declares 20000×20000')
    assert.ok(bomb.length - second > 200_000, 'followed by the LZW data for all its pixels')
  })

  test('exifHasGps tells a located photo from one without a location', async () => {
    assert.equal(exifHasGps((await sharp(await makeJpeg(8, 8, { exifGps: true })).metadata()).exif), true)
    assert.equal(exifHasGps((await sharp(await makeJpeg(8, 8, { orientation: 3 })).metadata()).exif), false)
    assert.equal(exifHasGps(undefined), false)
  })

  test('pseudo-random bytes are reproducible', () => {
    assert.deepEqual(pseudoRandomBytes(64, 1), pseudoRandomBytes(64, 1))
    assert.notDeepEqual(pseudoRandomBytes(64, 1), pseudoRandomBytes(64, 2))
  })
})
