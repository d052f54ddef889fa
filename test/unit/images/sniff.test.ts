import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { sniffImage } from '../../../src/images/sniff.ts'
import {
  htmlPage,
  makeBmp,
  makeGif,
  makeJpeg,
  makePng,
  makeTiff,
  makeWebp,
  pseudoRandomBytes,
  svgWithScript,
} from '../../support/images.ts'

describe('sniffImage: the bytes decide, never the name', () => {
  test('JPEG, PNG and GIF made by an encoder are recognised', async () => {
    assert.deepEqual(sniffImage(await makeJpeg(8, 8)), { format: 'jpeg', detected: 'jpeg' })
    assert.deepEqual(sniffImage(await makePng(8, 8)), { format: 'png', detected: 'png' })
    assert.deepEqual(sniffImage(await makeGif(8, 8)), { format: 'gif', detected: 'gif' })
  })

  test('GIF87a is a GIF as well as GIF89a', () => {
    assert.equal(sniffImage(Buffer.from('GIF87a\x01\x00\x01\x00', 'latin1')).format, 'gif')
    assert.equal(sniffImage(Buffer.from('GIF88a\x01\x00\x01\x00', 'latin1')).format, null)
  })

  test('other image formats are refused and named for the log', async () => {
    assert.deepEqual(sniffImage(makeBmp()), { format: null, detected: 'bmp' })
    assert.deepEqual(sniffImage(await makeTiff()), { format: null, detected: 'tiff' })
    assert.deepEqual(sniffImage(await makeWebp()), { format: null, detected: 'webp' })
    assert.equal(sniffImage(Buffer.from([0, 0, 1, 0, 1, 0, 16, 16])).detected, 'ico')
    assert.equal(sniffImage(Buffer.from('%PDF-1.7\n')).detected, 'pdf')
    assert.equal(sniffImage(Buffer.from('8BPS\x00\x01', 'latin1')).detected, 'psd')
    assert.equal(sniffImage(Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a])).detected, 'jpeg2000')
  })

  test('SVG with a script, HTML, PHP and ImageMagick MVG are text, not images', () => {
    assert.deepEqual(sniffImage(svgWithScript), { format: null, detected: 'svg' })
    assert.deepEqual(sniffImage(htmlPage), { format: null, detected: 'html' })
    assert.equal(sniffImage(Buffer.from('\xEF\xBB\xBF  <svg width="1"/>', 'latin1')).detected, 'svg')
    assert.equal(sniffImage(Buffer.from('<?php system($_GET["c"]); ?>')).detected, 'php')
    assert.equal(sniffImage(Buffer.from('push graphic-context\nviewbox 0 0 640 480\n')).detected, 'mvg')
    assert.equal(sniffImage(Buffer.from('<?xml version="1.0"?><note/>')).detected, 'xml')
  })

  test('random bytes (say, uploaded as "photo.png") are unknown', () => {
    assert.deepEqual(sniffImage(pseudoRandomBytes(4096)), { format: null, detected: 'unknown' })
  })

  test('an empty upload is not an image', () => {
    assert.deepEqual(sniffImage(Buffer.alloc(0)), { format: null, detected: 'empty' })
  })

  test('the whole 8-byte PNG signature is required, not just \\x89PNG', async () => {
    const png = await makePng(4, 4)
    const lineEndingsMangled = Buffer.concat([png.subarray(0, 4), Buffer.from('\r\r\x1a\r', 'latin1'), png.subarray(8)])
    assert.deepEqual(sniffImage(lineEndingsMangled), { format: null, detected: 'png-damaged-signature' })
    assert.equal(sniffImage(png.subarray(0, 7)).format, null, 'a signature cut short is not PNG')
  })

  test('JPEG needs FF D8 FF: two bytes are not enough', () => {
    assert.equal(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0])).format, 'jpeg')
    assert.equal(sniffImage(Buffer.from([0xff, 0xd8, 0x00, 0xe0])).format, null)
    assert.equal(sniffImage(Buffer.from([0xff, 0xd8])).format, null)
  })

  test('a BMP wrapping PNG data stays a BMP', () => {
    const bmp = makeBmp()
    const pngInside = Buffer.concat([
      bmp.subarray(0, 54),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    ])
    assert.deepEqual(sniffImage(pngInside), { format: null, detected: 'bmp' })
  })
})
