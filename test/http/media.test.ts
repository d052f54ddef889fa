/**
 * POST /api/media and GET /media/<id>.<ext> (CONTRACT §12): who may upload, the avatars'
 * rejection table with its messages, the early 413, re-encoding (at most 1600 px, metadata gone),
 * serving (real type, nosniff, immutable caching, ETag), content addressing, the rate limit.
 */
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { MULTIPART_OVERHEAD_BYTES } from '../../src/http/uploads/read-upload.ts'
import type { AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'
import {
  exifHasGps,
  htmlPage,
  makeAnimatedGifFrameBomb,
  makeBmp,
  makeGif,
  makeJpeg,
  makePng,
  makePngHeaderClaiming,
  makeTiff,
  makeWebp,
  makeZeroPngBomb,
  pseudoRandomBytes,
  svgWithScript,
  truncate,
} from '../support/images.ts'

const UPLOAD = '/api/media'
const MEDIA_URL = /^\/media\/([0-9a-f]{64})\.(png|jpg)$/
const LIMITS = { ...MANY_USERS_ENV, RATE_LIMIT_AVATAR: '1000/1h' }

const filePart = (data: Buffer | string, name = 'file') => ({
  name,
  filename: 'upload.bin',
  contentType: 'application/octet-stream',
  data,
})

function refused(res: AgentResponse, status: number, message: string) {
  assert.equal(res.statusCode, status, res.body)
  assert.equal(res.json().error, message)
}

function urlOf(res: AgentResponse): string {
  assert.equal(res.statusCode, 201, res.body)
  assert.deepEqual(Object.keys(res.json()), ['url'])
  const url = res.json().url as string
  assert.match(url, MEDIA_URL)
  return url
}

/** An instructor who owns a course (created through the API), so may upload media. */
async function owningInstructor(t: TestApp): Promise<SignedInUser> {
  const instructor = await signedIn(t, 'instructor', 'author')
  const res = await instructor.agent.post('/api/courses', { json: { title: `Course of ${instructor.username}` } })
  assert.equal(res.statusCode, 201, res.body)
  return instructor
}

describe('lesson media: who may upload', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ env: LIMITS })
  })
  after(() => t.close())

  test('an instructor who owns a course, and an admin: 201 {"url"}', async () => {
    const author = await owningInstructor(t)
    urlOf(await author.agent.post(UPLOAD, { multipart: [filePart(await makePng(20, 20))] }))
    const admin = await signedIn(t, 'admin')
    urlOf(await admin.agent.post(UPLOAD, { multipart: [filePart(await makePng(21, 20))] }))
  })

  test('an instructor who owns an ebook only may upload too', async () => {
    const author = await signedIn(t, 'instructor', 'ebooker')
    assert.equal((await author.agent.post('/api/ebooks', { json: { title: 'A book' } })).statusCode, 201)
    urlOf(await author.agent.post(UPLOAD, { multipart: [filePart(await makePng(22, 20))] }))
  })

  test('an instructor who owns nothing: 403 permission_denied before the body is read', async () => {
    const idle = await signedIn(t, 'instructor', 'idle')
    const before = t.events('permission_denied').length
    let pulled = 0
    const body = Readable.from(
      (function* () {
        pulled++
        yield Buffer.from('--x\r\n')
      })(),
    )
    const res = await idle.agent.post(UPLOAD, {
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: body,
    })
    refused(res, 403, 'Forbidden')
    assert.equal(pulled, 0)
    assert.equal(t.events('permission_denied').length, before + 1)
    // An imported course (no owner) does not count.
    await createWork(t.database.db, 'course', { slug: 'imported-for-media' })
    refused(await idle.agent.post(UPLOAD, { multipart: [filePart(await makePng(8, 8))] }), 403, 'Forbidden')
  })

  test('a learner: 403; signed out: 401; no CSRF token: 403 "CSRF token missing"', async () => {
    const learner = await signedIn(t, 'learner')
    refused(await learner.agent.post(UPLOAD, { multipart: [filePart(await makePng(8, 8))] }), 403, 'Forbidden')
    const author = await owningInstructor(t)
    const anonymous = await author.agent.post(UPLOAD, {
      multipart: [filePart(await makePng(8, 8))],
      withoutCookies: true,
      csrf: false,
    })
    assert.ok([401, 403].includes(anonymous.statusCode))
    refused(
      await author.agent.post(UPLOAD, { multipart: [filePart(await makePng(8, 8))], csrf: false }),
      403,
      'CSRF token missing',
    )
  })
})

describe('lesson media: the avatars’ rejection table', () => {
  let t: TestApp
  let author: SignedInUser
  before(async () => {
    t = await buildTestApp({ env: LIMITS })
    author = await owningInstructor(t)
  })
  after(() => t.close())

  const upload = (data: Buffer | string, field = 'file') =>
    author.agent.post(UPLOAD, { multipart: [filePart(data, field)] })

  const cases: Array<[string, () => Promise<Buffer> | Buffer, string]> = [
    ['BMP', () => makeBmp(), 'Unsupported image format'],
    ['TIFF', () => makeTiff(), 'Unsupported image format'],
    ['WebP', () => makeWebp(), 'Unsupported image format'],
    ['SVG with a script', () => svgWithScript, 'Unsupported image format'],
    ['HTML named .png', () => htmlPage, 'Unsupported image format'],
    ['random bytes', () => pseudoRandomBytes(4096), 'Unsupported image format'],
    ['4097 pixels wide', () => makePngHeaderClaiming(4097, 10), 'Image dimensions too large'],
    ['4097 pixels high', () => makePngHeaderClaiming(10, 4097), 'Image dimensions too large'],
    ['a zero-filled PNG bomb', () => makeZeroPngBomb(), 'Image dimensions too large'],
    ['an animated GIF frame bomb', () => makeAnimatedGifFrameBomb(), 'Image dimensions too large'],
    ['a truncated PNG', async () => truncate(await makePng(300, 300), 120), 'Invalid image'],
  ]
  for (const [name, make, message] of cases) {
    test(`${name}: 400 "${message}", logged upload_rejected, nothing stored`, async () => {
      const before = t.events('upload_rejected').length
      refused(await upload(await make()), 400, message)
      assert.equal(t.events('upload_rejected').length, before + 1)
      assert.equal((await t.database.db.selectFrom('media').select('sha256').execute()).length, 0)
    })
  }

  test('4096×4096 passes (inclusive limit)', async () => {
    urlOf(await upload(await makePng(4096, 4096)))
  })

  test('no file part, or the file in another field: 400 "No file uploaded"', async () => {
    refused(await author.agent.post(UPLOAD, { multipart: [{ name: 'alt', value: 'x' }] }), 400, 'No file uploaded')
    refused(await upload(await makePng(8, 8), 'avatar'), 400, 'No file uploaded')
    refused(await author.agent.post(UPLOAD, { json: { file: 'x' } }), 400, 'No file uploaded')
  })
})

describe('lesson media: MAX_UPLOAD_BYTES (413, early)', () => {
  const MAX_BYTES = 64 * 1024
  let t: TestApp
  let author: SignedInUser
  before(async () => {
    t = await buildTestApp({ env: { ...LIMITS, MAX_UPLOAD_BYTES: String(MAX_BYTES) } })
    author = await owningInstructor(t)
  })
  after(() => t.close())

  test('exactly MAX_UPLOAD_BYTES is judged; one byte more is 413 "File too large"', async () => {
    refused(
      await author.agent.post(UPLOAD, { multipart: [filePart(pseudoRandomBytes(MAX_BYTES))] }),
      400,
      'Unsupported image format',
    )
    const over = await author.agent.post(UPLOAD, { multipart: [filePart(pseudoRandomBytes(MAX_BYTES + 1))] })
    refused(over, 413, 'File too large')
  })

  test('a declared Content-Length over the limit is refused before a byte is read', async () => {
    let pulled = 0
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 16; i++) {
          pulled += 16 * 1024
          yield Buffer.alloc(16 * 1024, 0x61)
        }
      })(),
    )
    const res = await author.agent.post(UPLOAD, {
      headers: {
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(MAX_BYTES + MULTIPART_OVERHEAD_BYTES + 1),
      },
      payload: body,
    })
    refused(res, 413, 'File too large')
    assert.equal(pulled, 0)
  })

  test('a chunked body is stopped as soon as it crosses the limit', async () => {
    const total = 8 * 1024 * 1024
    let pulled = 0
    const boundary = 'media-boundary'
    const token = await author.agent.csrfToken()
    const body = Readable.from(
      (function* () {
        yield Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n` +
            'Content-Type: image/png\r\n\r\n',
        )
        while (pulled < total) {
          pulled += 16 * 1024
          yield pseudoRandomBytes(16 * 1024, pulled)
        }
        yield Buffer.from(`\r\n--${boundary}--\r\n`)
      })(),
    )
    const res = await author.agent.post(UPLOAD, {
      csrf: token,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      payload: body,
    })
    refused(res, 413, 'File too large')
    assert.ok(pulled < 4 * MAX_BYTES, `read ${pulled} of ${total} bytes`)
  })
})

describe('lesson media: re-encoded, content-addressed, served safely', () => {
  let t: TestApp
  let author: SignedInUser
  before(async () => {
    t = await buildTestApp({ env: LIMITS })
    author = await owningInstructor(t)
  })
  after(() => t.close())

  const upload = (data: Buffer) => author.agent.post(UPLOAD, { multipart: [filePart(data)] })

  test('a large image is shrunk to 1600 px on its longer edge; a smaller one keeps its size', async () => {
    const wide = await t.app.inject({ url: urlOf(await upload(await makePng(2400, 1200))) })
    assert.deepEqual(
      [(await sharp(wide.rawPayload).metadata()).width, (await sharp(wide.rawPayload).metadata()).height],
      [1600, 800],
    )
    const tall = await t.app.inject({ url: urlOf(await upload(await makeJpeg(1000, 3000))) })
    const tallMeta = await sharp(tall.rawPayload).metadata()
    assert.deepEqual([tallMeta.width, tallMeta.height, tallMeta.format], [533, 1600, 'jpeg'])
    const small = await t.app.inject({ url: urlOf(await upload(await makePng(1600, 900))) })
    assert.equal((await sharp(small.rawPayload).metadata()).width, 1600)
  })

  test('EXIF (a GPS position) is gone; JPEG stays JPEG, PNG stays PNG, a GIF becomes a PNG', async () => {
    const jpegUrl = urlOf(await upload(await makeJpeg(300, 200, { exifGps: true })))
    assert.match(jpegUrl, /\.jpg$/)
    const jpeg = await t.app.inject({ url: jpegUrl })
    const metadata = await sharp(jpeg.rawPayload).metadata()
    assert.equal(exifHasGps(metadata.exif), false)
    assert.equal(metadata.exif, undefined)
    assert.match(urlOf(await upload(await makePng(30, 30))), /\.png$/)
    assert.match(urlOf(await upload(await makeGif(30, 30))), /\.png$/)
  })

  test('served with its real type, nosniff, a year of immutable caching and an ETag; 304 when unchanged', async () => {
    const url = urlOf(await upload(await makePng(40, 40)))
    const res = await t.app.inject({ url })
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-type'], 'image/png')
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
    const sha = MEDIA_URL.exec(url)![1]
    assert.equal(res.headers.etag, `"${sha}"`)
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/)
    const again = await t.app.inject({ url, headers: { 'if-none-match': `"${sha}"` } })
    assert.equal(again.statusCode, 304)
  })

  test('the same image twice is one stored copy and one URL', async () => {
    const image = await makePng(55, 44)
    const first = urlOf(await upload(image))
    const second = urlOf(await upload(image))
    assert.equal(first, second)
    const rows = await t.database.db
      .selectFrom('media')
      .select('sha256')
      .where('sha256', '=', MEDIA_URL.exec(first)![1]!)
      .execute()
    assert.equal(rows.length, 1)
    const [a, b] = await Promise.all([upload(await makePng(56, 44)), upload(await makePng(56, 44))])
    assert.equal(urlOf(a), urlOf(b))
  })

  test('unknown ids, the wrong extension and malformed names are 404', async () => {
    const url = urlOf(await upload(await makePng(41, 40)))
    assert.equal((await t.app.inject({ url: url.replace(/\.png$/, '.jpg') })).statusCode, 404)
    assert.equal((await t.app.inject({ url: `/media/${'0'.repeat(64)}.png` })).statusCode, 404)
    assert.equal((await t.app.inject({ url: '/media/abc.png' })).statusCode, 404)
    assert.equal((await t.app.inject({ url: `${url.toUpperCase()}` })).statusCode, 404)
  })

  test('every stored upload is logged media_uploaded with what was stored', async () => {
    const url = urlOf(await upload(await makePng(42, 40)))
    const line = t.events('media_uploaded').at(-1)!
    const extra = line.extra as { sha256: string; width: number; via: string }
    assert.equal(`/media/${extra.sha256}.png`, url)
    assert.equal(extra.width, 42)
    assert.equal(extra.via, 'api')
  })
})

describe('lesson media: rate limited per user like avatars (RATE_LIMIT_AVATAR)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ env: { ...MANY_USERS_ENV, RATE_LIMIT_AVATAR: '5/1h' } })
  })
  after(() => t.close())

  test('the limit passes, the next is 429; another user and avatar uploads have their own counters', async () => {
    const author = await owningInstructor(t)
    const image = await makePng(10, 10)
    for (let i = 0; i < 5; i++) urlOf(await author.agent.post(UPLOAD, { multipart: [filePart(image)] }))
    const limited = await author.agent.post(UPLOAD, { multipart: [filePart(image)] })
    assert.equal(limited.statusCode, 429)
    assert.match(limited.json().error, /^Rate limit exceeded\. Try again in \d+ seconds\.$/)
    assert.ok(limited.headers['retry-after'])
    const avatar = await author.agent.post('/api/upload-avatar', {
      multipart: [{ name: 'avatar', filename: 'a.png', data: image }],
    })
    assert.equal(avatar.statusCode, 200)
    const second = await owningInstructor(t)
    urlOf(await second.agent.post(UPLOAD, { multipart: [filePart(image)] }))
  })

  test('25 parallel uploads: exactly 5 get through', async () => {
    const author = await owningInstructor(t)
    const image = await makePng(12, 12)
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => author.agent.post(UPLOAD, { multipart: [filePart(image)] })),
    )
    const statuses = answers.map((res) => res.statusCode)
    assert.equal(statuses.filter((status) => status === 201).length, 5)
    assert.equal(statuses.filter((status) => status === 429).length, 20)
  })
})
