/**
 * POST /api/upload-avatar and the avatars it serves (CONTRACT §5), through the whole app:
 * sessions, CSRF, rate limits, multipart streaming, src/images and the database. Every fixture
 * is built in memory by test/support/images.ts; the big bombs are refused from their headers.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { createImageProcessor, type ImageProcessor, type ProcessedImage } from '../../src/images/index.ts'
import { avatarImageLimits } from '../../src/modules/avatars/avatars.service.ts'
import { MULTIPART_OVERHEAD_BYTES } from '../../src/http/uploads/read-upload.ts'
import { DEFAULT_MAX_UPLOADS_IN_FLIGHT } from '../../src/http/uploads/upload-slots.ts'
import { createAgent, multipartBody, type Agent, type AgentResponse, type MultipartPart } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
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

const UPLOAD = '/api/upload-avatar'
const PASSWORD = 'correct horse battery staple'
/** Many uploads from one address and one user: the avatar policy has its own test below. */
const GENEROUS_LIMITS = {
  RATE_LIMIT_REGISTER: '1000/1h',
  RATE_LIMIT_LOGIN: '1000/15m',
  RATE_LIMIT_AVATAR: '1000/1h',
}
const AVATAR_URL = /^\/avatars\/(\d+)\/([0-9a-f]{16})\.(jpg|png)$/
const MESSAGES = {
  tooLarge: 'File too large',
  noFile: 'No file uploaded',
  format: 'Unsupported image format',
  dimensions: 'Image dimensions too large',
  invalid: 'Invalid image',
} as const

let serial = 0

/** A new account, signed in: its agent carries the session cookie and fetches CSRF tokens. */
async function signedIn(t: TestApp): Promise<{ agent: Agent; id: number }> {
  serial++
  const agent = createAgent(t.app)
  const res = await agent.post('/api/register', {
    json: { username: `avatar${serial}`, email: `avatar${serial}@example.org`, password: PASSWORD },
  })
  assert.equal(res.statusCode, 201, res.body)
  return { agent, id: (res.json() as { user: { id: number } }).user.id }
}

function avatarPart(data: Buffer | string, filename = 'upload.bin', contentType = 'application/octet-stream') {
  return { name: 'avatar', filename, contentType, data }
}

const upload = (agent: Agent, data: Buffer | string, filename?: string, contentType?: string) =>
  agent.post(UPLOAD, { multipart: [avatarPart(data, filename, contentType)] })

function assertRefused(res: AgentResponse, status: number, message: string) {
  assert.equal(res.statusCode, status, res.body)
  assert.equal((res.json() as { error: string }).error, message, res.body)
}

function avatarUrlOf(res: AgentResponse): string {
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json() as { avatar_url: string }
  assert.deepEqual(Object.keys(body), ['avatar_url'])
  assert.match(body.avatar_url, AVATAR_URL)
  return body.avatar_url
}

async function currentAvatarUrl(agent: Agent): Promise<string | null> {
  const me = await agent.get('/api/me')
  assert.equal(me.statusCode, 200, me.body)
  return (me.json() as { user: { avatar_url: string | null } }).user.avatar_url
}

/** The upload_rejected line of one response. */
function rejectionLine(t: TestApp, res: AgentResponse): Record<string, unknown> {
  const lines = t.events('upload_rejected').filter((line) => line.request_id === res.headers['x-request-id'])
  assert.equal(lines.length, 1, `one upload_rejected line for ${res.headers['x-request-id']}`)
  return lines[0]!.extra as Record<string, unknown>
}

describe('avatar uploads: accepted images (CONTRACT §5)', () => {
  let t: TestApp
  let agent: Agent
  let userId: number
  const fixtures: Record<string, Buffer> = {}
  before(async () => {
    t = await buildTestApp({ env: GENEROUS_LIMITS })
    ;({ agent, id: userId } = await signedIn(t))
    fixtures.jpeg = await makeJpeg(1024, 768, { noise: true })
    fixtures.png = await makePng(1024, 768, { alpha: true })
    fixtures.gif = await makeGif(1024, 768)
  })
  after(() => t.close())

  for (const [kind, storedType] of [
    ['jpeg', 'image/jpeg'],
    ['png', 'image/png'],
    ['gif', 'image/png'],
  ] as const) {
    test(`a 1024×768 ${kind.toUpperCase()} is accepted, stored re-encoded at 512×384 and served as ${storedType}`, async () => {
      const input = fixtures[kind]!
      const url = avatarUrlOf(await upload(agent, input, `me.${kind}`, `image/${kind}`))
      assert.equal(AVATAR_URL.exec(url)![1], String(userId))
      assert.equal(await currentAvatarUrl(agent), url)

      const served = await agent.get(url)
      assert.equal(served.statusCode, 200)
      assert.equal(served.headers['content-type'], storedType)
      const metadata = await sharp(served.rawPayload).metadata()
      assert.equal(`image/${metadata.format}`, storedType)
      assert.deepEqual([metadata.width, metadata.height], [512, 384])
      assert.equal(served.rawPayload.includes(input.subarray(0, 64)), false, 'no byte run of the upload is served')
      assert.match(url, storedType === 'image/jpeg' ? /\.jpg$/ : /\.png$/)
    })
  }

  test('exactly 4096×4096 passes; 4097 wide, 5000×1000 and 1000×5000 are "Image dimensions too large"', async () => {
    avatarUrlOf(await upload(agent, await makePng(4096, 4096)))
    for (const [width, height] of [
      [4097, 16],
      [5000, 1000],
      [1000, 5000],
    ] as const) {
      const res = await upload(agent, await makePng(width, height))
      assertRefused(res, 400, MESSAGES.dimensions)
      const line = rejectionLine(t, res)
      assert.deepEqual([line.reason, line.format, line.width, line.height], ['dimensions', 'png', width, height])
    }
  })

  test('EXIF GPS in the upload is gone from the stored image', async () => {
    const input = await makeJpeg(640, 480, { exifGps: true })
    assert.ok(exifHasGps((await sharp(input).metadata()).exif), 'the fixture carries a GPS position')
    const served = await agent.get(avatarUrlOf(await upload(agent, input)))
    const metadata = await sharp(served.rawPayload).metadata()
    assert.equal(exifHasGps(metadata.exif), false)
    assert.equal(metadata.exif, undefined, 'no EXIF at all')
    assert.equal(served.rawPayload.includes('FixtureCam'), false)
  })

  test('served with its real type, nosniff, a strong ETag, a year of immutable caching, inline, and no-script CSP', async () => {
    const url = avatarUrlOf(await upload(agent, fixtures.jpeg!))
    const res = await agent.get(url)
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-type'], 'image/jpeg')
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.match(String(res.headers.etag), /^"[0-9a-f]{64}"$/)
    assert.ok(String(res.headers.etag).startsWith(`"${AVATAR_URL.exec(url)![2]}`), 'the URL names the bytes')
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.equal(res.headers['content-disposition'], 'inline')
    assert.match(String(res.headers['content-security-policy']), /^default-src 'none'/)
    assert.equal(Number(res.headers['content-length']), res.rawPayload.length)

    const revalidated = await agent.get(url, { headers: { 'if-none-match': String(res.headers.etag) } })
    assert.equal(revalidated.statusCode, 304)
    assert.equal(revalidated.rawPayload.length, 0)
    assert.equal(revalidated.headers.etag, res.headers.etag)
    const listed = await agent.get(url, { headers: { 'if-none-match': `"other", W/${String(res.headers.etag)}` } })
    assert.equal(listed.statusCode, 304)
    const other = await agent.get(url, { headers: { 'if-none-match': '"0000"' } })
    assert.equal(other.statusCode, 200)

    const head = await agent.head(url)
    assert.equal(head.statusCode, 200)
    assert.equal(head.headers['content-type'], 'image/jpeg')
    assert.equal(head.rawPayload.length, 0)

    const anonymous = await createAgent(t.app).get(url)
    assert.equal(anonymous.statusCode, 200, 'avatars are public images')
  })

  test('a new avatar is a new URL; an earlier URL redirects to the current one; other names are 404', async () => {
    const first = avatarUrlOf(await upload(agent, await makePng(300, 200)))
    const second = avatarUrlOf(await upload(agent, await makeJpeg(200, 300)))
    assert.notEqual(first, second)
    assert.equal(await currentAvatarUrl(agent), second)

    const old = await agent.get(first)
    assert.equal(old.statusCode, 302)
    assert.equal(old.headers.location, second)
    assert.equal(old.headers['cache-control'], 'no-cache')

    const [, id, hash] = AVATAR_URL.exec(second)!
    for (const path of [
      `/avatars/${id}/${hash}.gif`,
      `/avatars/${id}/${hash!.toUpperCase()}.jpg`,
      `/avatars/${id}/${hash}.jpg.html`,
      `/avatars/${id}/../${hash}.jpg`,
      `/avatars/0${id}/${hash}.jpg`,
      `/avatars/999999/${hash}.jpg`,
      `/avatars/abc/${hash}.jpg`,
      `/avatars/99999999999999999999/${hash}.jpg`,
    ]) {
      const res = await agent.get(path)
      assert.equal(res.statusCode, 404, path)
      assert.equal((res.json() as { error: string }).error, 'Not found')
    }
  })

  test('only a name the avatar really had redirects; any other name is the 404 of an unknown user', async () => {
    const withAvatar = await signedIn(t)
    const earlier = avatarUrlOf(await upload(withAvatar.agent, await makePng(30, 20)))
    const current = avatarUrlOf(await upload(withAvatar.agent, await makeJpeg(20, 30)))
    const withoutAvatar = await signedIn(t)
    const stranger = await signedIn(t)
    const strangersName = AVATAR_URL.exec(avatarUrlOf(await upload(stranger.agent, await makePng(25, 25))))![2]!

    const redirect = await agent.get(earlier)
    assert.equal(redirect.statusCode, 302)
    assert.equal(redirect.headers.location, current)

    /** Everything a client sees of a response but its request id and date. */
    const seen = async (path: string) => {
      const res = await createAgent(t.app).get(path)
      const { 'x-request-id': _id, date: _date, ...headers } = res.headers
      const { request_id: _requestId, ...body } = res.json() as Record<string, unknown>
      return { status: res.statusCode, headers, body }
    }
    const unknownUser = await seen(`/avatars/999999/0123456789abcdef.jpg`)
    assert.equal(unknownUser.status, 404)
    for (const path of [
      `/avatars/${withAvatar.id}/0123456789abcdef.jpg`, // never stored
      `/avatars/${withAvatar.id}/${strangersName}.png`, // another user's name
      `/avatars/${withAvatar.id}/${AVATAR_URL.exec(earlier)![2]}.jpg`, // an earlier hash, another type
      `/avatars/${withoutAvatar.id}/0123456789abcdef.jpg`,
      `/avatars/${withoutAvatar.id}/${AVATAR_URL.exec(current)![2]}.jpg`,
    ]) {
      assert.deepEqual(await seen(path), unknownUser, path)
    }
  })

  test('USER carries avatar_url once there is one: /api/me, login and PATCH /api/profile', async () => {
    const fresh = await signedIn(t)
    assert.equal(await currentAvatarUrl(fresh.agent), null)
    const url = avatarUrlOf(await upload(fresh.agent, fixtures.png!))
    const profile = await fresh.agent.patch('/api/profile', { json: { bio: 'hello' } })
    assert.equal((profile.json() as { user: { avatar_url: string } }).user.avatar_url, url)
    const me = (await fresh.agent.get('/api/me')).json() as { user: { username: string; avatar_url: string } }
    assert.equal(me.user.avatar_url, url)
    const other = createAgent(t.app)
    const login = await other.post('/api/login', { json: { username: me.user.username, password: PASSWORD } })
    assert.equal((login.json() as { user: { avatar_url: string } }).user.avatar_url, url)
  })

  test('each accepted image is counted in the metrics', async () => {
    const count = async () => {
      const text = await t.app.metrics.registry.getSingleMetricAsString('lectern_image_validations_total')
      return Number(/outcome="accepted"} (\d+)/.exec(text)?.[1] ?? 0)
    }
    const before = await count()
    avatarUrlOf(await upload(agent, await makePng(64, 64)))
    assert.equal(await count(), before + 1)
  })
})

describe('avatar uploads: refused images and bodies (CONTRACT §5)', () => {
  let t: TestApp
  let agent: Agent
  let previousUrl: string
  let previousBytes: Buffer
  before(async () => {
    t = await buildTestApp({ env: GENEROUS_LIMITS })
    ;({ agent } = await signedIn(t))
    previousUrl = avatarUrlOf(await upload(agent, await makeJpeg(320, 240)))
    previousBytes = (await agent.get(previousUrl)).rawPayload
  })
  after(() => t.close())

  /** After any refusal: nothing stored, the previous avatar unchanged and still served. */
  async function assertPreviousAvatarKept() {
    assert.equal(await currentAvatarUrl(agent), previousUrl)
    const served = await agent.get(previousUrl)
    assert.equal(served.statusCode, 200)
    assert.deepEqual(served.rawPayload, previousBytes)
    const rows = await t.database.db.selectFrom('avatars').select('user_id').execute()
    assert.equal(rows.length, 1)
  }

  test('BMP, TIFF, SVG with script, WebP, HTML and random bytes named .png: "Unsupported image format", whatever the name', async () => {
    const cases: Array<[string, Buffer, string]> = [
      ['bmp', makeBmp(), 'image/bmp'],
      ['tiff', await makeTiff(), 'image/tiff'],
      ['svg', svgWithScript, 'image/svg+xml'],
      ['webp', await makeWebp(), 'image/webp'],
      ['html', htmlPage, 'text/html'],
      ['random', pseudoRandomBytes(4096), 'image/png'],
    ]
    for (const [label, data, type] of cases) {
      const res = await upload(agent, data, 'avatar.png', type)
      assertRefused(res, 400, MESSAGES.format)
      const line = rejectionLine(t, res)
      assert.equal(line.reason, 'unsupported_format', label)
      assert.equal(typeof line.format, 'string', label)
      assert.notEqual(line.format, 'png', `${label} is judged by its bytes, not its name`)
      assert.equal(line.bytes, data.length)
    }
    const svgLine = rejectionLine(t, await upload(agent, svgWithScript, 'a.svg', 'image/svg+xml'))
    assert.equal(svgLine.format, 'svg')
    await assertPreviousAvatarKept()
  })

  test('truncated PNG and JPEG: "Invalid image"', async () => {
    const png = await makePng(256, 256, { alpha: true })
    const jpeg = await makeJpeg(256, 256, { noise: true })
    for (const [label, data] of [
      ['png', truncate(png, Math.floor(png.length / 2))],
      ['jpeg', truncate(jpeg, Math.floor(jpeg.length / 2))],
    ] as const) {
      const res = await upload(agent, data)
      assertRefused(res, 400, MESSAGES.invalid)
      assert.deepEqual([rejectionLine(t, res).reason, rejectionLine(t, res).format], ['invalid', label])
    }
    await assertPreviousAvatarKept()
  })

  test('a real 30000×30000 PNG bomb and a header claiming 100000×100000 are refused from the header, never decoded', async () => {
    for (const [data, width, height] of [
      [makeZeroPngBomb(), 30_000, 30_000],
      [makePngHeaderClaiming(100_000, 100_000), 100_000, 100_000],
    ] as const) {
      const res = await upload(agent, data)
      assertRefused(res, 400, MESSAGES.dimensions)
      const line = rejectionLine(t, res)
      assert.deepEqual([line.reason, line.format, line.width, line.height], ['dimensions', 'png', width, height])
      assert.doesNotMatch(String(line.detail), /^decoder/, 'refused before decoding')
    }
    await assertPreviousAvatarKept()
  })

  test('an animated GIF frame bomb (1×1 screen, 20000×20000 frame): "Image dimensions too large"', async () => {
    const res = await upload(agent, makeAnimatedGifFrameBomb())
    assertRefused(res, 400, MESSAGES.dimensions)
    const line = rejectionLine(t, res)
    assert.deepEqual([line.reason, line.format], ['dimensions', 'gif'])
    assert.doesNotMatch(String(line.detail), /^decoder/)
    await assertPreviousAvatarKept()
  })

  test('no single `avatar` file: "No file uploaded"', async () => {
    const png = await makePng(32, 32)
    const bodies: Array<[string, MultipartPart[]]> = [
      ['no parts but the token', []],
      ['a text field named avatar', [{ name: 'avatar', value: 'not a file' }]],
      ['a file under another name', [{ name: 'picture', filename: 'a.png', data: png }]],
      ['an empty file (a form sent without choosing one)', [{ name: 'avatar', filename: '', data: '' }]],
      ['two avatar files', [avatarPart(png), avatarPart(png)]],
      ['another file first', [{ name: 'picture', filename: 'a.png', data: png }, avatarPart(png)]],
    ]
    for (const [label, parts] of bodies) {
      const res = await agent.post(UPLOAD, { multipart: parts, csrfIn: 'field' })
      assertRefused(res, 400, MESSAGES.noFile)
      assert.equal(rejectionLine(t, res).reason, 'no_file', label)
    }
    for (const [label, options] of [
      ['a JSON body', { json: { avatar: png.toString('base64') } }],
      ['an urlencoded form', { form: { avatar: 'x' } }],
      ['no body at all', {}],
      ['raw bytes', { payload: png, headers: { 'content-type': 'image/png' } }],
      ['multipart without a boundary', { payload: 'x', headers: { 'content-type': 'multipart/form-data' } }],
    ] as const) {
      const res = await agent.post(UPLOAD, options)
      assertRefused(res, 400, MESSAGES.noFile)
      assert.equal(rejectionLine(t, res).reason, 'no_file', label)
    }
    await assertPreviousAvatarKept()
  })

  test('other small form fields beside the token and the file are ignored', async () => {
    const res = await agent.post(UPLOAD, {
      multipart: [{ name: 'submit', value: 'Upload' }, avatarPart(await makePng(40, 40))],
      csrfIn: 'field',
    })
    previousUrl = avatarUrlOf(res)
    previousBytes = (await agent.get(previousUrl)).rawPayload
  })

  test('a rejection line names the reason, format and dimensions, never the content or the token', async () => {
    const secret = 'SECRET-CONTENT-1234'
    const res = await upload(agent, Buffer.from(`<html>${secret}</html>`), 'x.png', 'image/png')
    assertRefused(res, 400, MESSAGES.format)
    const line = rejectionLine(t, res)
    assert.deepEqual(Object.keys(line).sort(), [
      'bytes',
      'content_length',
      'detail',
      'format',
      'frames',
      'height',
      'reason',
      'width',
    ])
    assert.equal(line.format, 'html')
    const everything = JSON.stringify(t.logs())
    assert.equal(everything.includes(secret), false)
    assert.equal(everything.includes(await agent.csrfToken()), false)
    const complete = t.events('request_complete').find((l) => l.request_id === res.headers['x-request-id'])
    assert.deepEqual(complete?.error, { type: 'HttpError', message: MESSAGES.format })
  })
})

describe('avatar uploads: who may upload (CONTRACT §3, §4, §5)', () => {
  let t: TestApp
  let decodes = 0
  before(async () => {
    const real = createImageProcessor({ limits: avatarImageLimits({ maxImageWidth: 4096, maxImageHeight: 4096 }) })
    const counting: ImageProcessor = { process: (input) => (decodes++, real.process(input)) }
    t = await buildTestApp({ env: GENEROUS_LIMITS, deps: { imageProcessor: counting } })
  })
  after(() => t.close())

  test('without a session: 401, no image work, nothing stored', async () => {
    const anonymous = createAgent(t.app)
    const before = decodes
    const res = await upload(anonymous, await makePng(32, 32))
    assertRefused(res, 401, 'Authentication required')
    assert.equal(decodes, before)
    assert.equal((await t.database.db.selectFrom('avatars').select('user_id').execute()).length, 0)
  })

  test('CSRF: avatar upload rejected without and accepted with a token', async () => {
    const { agent } = await signedIn(t)
    const png = await makePng(48, 48)
    const before = decodes
    assertRefused(await agent.post(UPLOAD, { multipart: [avatarPart(png)], csrf: false }), 403, 'CSRF token missing')
    assertRefused(
      await agent.post(UPLOAD, { multipart: [avatarPart(png)], csrf: 'x'.repeat(75), csrfIn: 'field' }),
      403,
      'CSRF token invalid',
    )
    // The token must come before the file: a file first is refused without being read.
    const token = await agent.csrfToken()
    const fileFirst = multipartBody([avatarPart(png), { name: 'csrf_token', value: token }])
    assertRefused(
      await agent.post(UPLOAD, { csrf: false, headers: fileFirst.headers, payload: fileFirst.payload }),
      403,
      'CSRF token missing',
    )
    assert.equal(decodes, before, 'no image work for a forged request')
    assert.equal(await currentAvatarUrl(agent), null)

    avatarUrlOf(await agent.post(UPLOAD, { multipart: [avatarPart(png)], csrfIn: 'field' }))
    avatarUrlOf(await agent.post(UPLOAD, { multipart: [avatarPart(png)] })) // X-CSRFToken header
  })
})

describe('avatar uploads: RATE_LIMIT_AVATAR (CONTRACT §5)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ env: { ...GENEROUS_LIMITS, RATE_LIMIT_AVATAR: '3/1h' } })
  })
  after(() => t.close())

  test('uploads are counted per signed-in user, refused ones included', async () => {
    const first = await signedIn(t)
    const png = await makePng(16, 16)
    const one = await upload(first.agent, png)
    assert.equal(one.statusCode, 200)
    assert.equal(one.headers['ratelimit-limit'], '3')
    assertRefused(await upload(first.agent, htmlPage), 400, MESSAGES.format)
    assert.equal((await upload(first.agent, png)).statusCode, 200)
    const limited = await upload(first.agent, png)
    assert.equal(limited.statusCode, 429)
    assert.match((limited.json() as { error: string }).error, /^Rate limit exceeded\. Try again in \d+ seconds\.$/)
    assert.ok(Number(limited.headers['retry-after']) > 0)
    // Another user, from the same address, has a count of their own.
    const second = await signedIn(t)
    assert.equal((await upload(second.agent, png)).statusCode, 200)
  })
})

describe('avatar uploads: MAX_UPLOAD_BYTES (413 "File too large", early)', () => {
  const MAX_BYTES = 64 * 1024
  let t: TestApp
  let agent: Agent
  let previousUrl: string
  before(async () => {
    t = await buildTestApp({ env: { ...GENEROUS_LIMITS, MAX_UPLOAD_BYTES: String(MAX_BYTES) } })
    ;({ agent } = await signedIn(t))
    previousUrl = avatarUrlOf(await upload(agent, await makePng(64, 64)))
  })
  after(() => t.close())

  test('a file of exactly MAX_UPLOAD_BYTES is read and judged; one byte more is 413 with Connection: close', async () => {
    const atLimit = await upload(agent, pseudoRandomBytes(MAX_BYTES))
    assertRefused(atLimit, 400, MESSAGES.format)

    const over = await upload(agent, pseudoRandomBytes(MAX_BYTES + 1))
    assertRefused(over, 413, MESSAGES.tooLarge)
    assert.equal(over.headers.connection, 'close')
    const line = rejectionLine(t, over)
    assert.equal(line.reason, 'too_large')
    assert.deepEqual([line.format, line.width, line.height], [null, null, null])
    assert.equal(await currentAvatarUrl(agent), previousUrl)
  })

  test('a declared Content-Length over the limit is refused before a byte of the body is read', async () => {
    let pulledBytes = 0
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 64; i++) {
          pulledBytes += 16 * 1024
          yield Buffer.alloc(16 * 1024, 0x61)
        }
      })(),
    )
    const res = await agent.post(UPLOAD, {
      headers: {
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(MAX_BYTES + MULTIPART_OVERHEAD_BYTES + 1),
      },
      payload: body,
    })
    assertRefused(res, 413, MESSAGES.tooLarge)
    assert.equal(res.headers.connection, 'close')
    assert.equal(pulledBytes, 0, 'the body was never read')
    assert.equal(rejectionLine(t, res).bytes, 0)
  })

  test('a chunked body is counted as it streams: 413 as soon as the limit is crossed, the rest never read', async () => {
    const totalBytes = 8 * 1024 * 1024
    let pulledBytes = 0
    const boundary = 'chunked-boundary'
    const token = await agent.csrfToken()
    const body = Readable.from(
      (function* () {
        yield Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="big.png"\r\n` +
            'Content-Type: image/png\r\n\r\n',
        )
        while (pulledBytes < totalBytes) {
          pulledBytes += 16 * 1024
          yield pseudoRandomBytes(16 * 1024, pulledBytes)
        }
        yield Buffer.from(`\r\n--${boundary}--\r\n`)
      })(),
    )
    const res = await agent.post(UPLOAD, {
      csrf: token,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      payload: body,
    })
    assertRefused(res, 413, MESSAGES.tooLarge)
    assert.ok(pulledBytes < 4 * MAX_BYTES, `read ${pulledBytes} bytes of ${totalBytes}`)
    assert.equal(await currentAvatarUrl(agent), previousUrl)
  })

  test('multipart framing past the allowance is counted too (fields and skipped parts are not free)', async () => {
    const fields: MultipartPart[] = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, value: 'x'.repeat(1000) }))
    const padded = multipartBody([...fields, avatarPart(pseudoRandomBytes(MAX_BYTES - 100))], {
      csrfToken: await agent.csrfToken(),
      boundary: 'b'.repeat(60),
    })
    // Under the body limit: the fields fit in the allowance, the file is judged.
    assertRefused(await agent.post(UPLOAD, { csrf: false, ...padded }), 400, MESSAGES.format)
    const tooMuch = Readable.from([Buffer.from('x'.repeat(MULTIPART_OVERHEAD_BYTES)), padded.payload])
    const res = await agent.post(UPLOAD, {
      csrf: false,
      headers: { ...padded.headers, 'transfer-encoding': 'chunked' },
      payload: tooMuch,
    })
    assertRefused(res, 413, MESSAGES.tooLarge)
    assert.match(String(rejectionLine(t, res).detail), /^body over/)
  })
})

/** The session cookie and a CSRF token of a signed-in agent, for requests over a real socket. */
async function credentials(agent: Agent): Promise<Record<string, string>> {
  const token = await agent.csrfToken() // first: it starts a session when there is none
  const cookie = Object.entries(agent.cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ')
  return { cookie, 'x-csrftoken': token }
}

interface SocketAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** File bytes the client had written when the answer's headers arrived. */
  sentWhenAnswered: number
}

/**
 * An upload over a real socket that keeps sending its (chunked) body until `stopAfterBytes`,
 * reading the answer whenever it comes, as HTTP libraries that write first and read after do.
 * Rejects on a socket error: a reset instead of our answer fails the test.
 */
function uploadOverSocket(
  port: number,
  headers: Record<string, string>,
  opts: { stopAfterBytes: number; pauseAfterBytes?: number },
): Promise<SocketAnswer> {
  const boundary = 'socket-boundary'
  return new Promise((resolve, reject) => {
    let sent = 0
    let answered: { status: number; headers: SocketAnswer['headers']; sentWhenAnswered: number } | null = null
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: UPLOAD,
      headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      answered = { status: res.statusCode ?? 0, headers: res.headers, sentWhenAnswered: sent }
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ ...answered!, body }))
      res.on('error', reject)
    })
    req.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="big.png"\r\n` +
        'Content-Type: image/png\r\n\r\n',
    )
    const chunk = Buffer.alloc(64 * 1024, 0x5a)
    const pump = () => {
      while (sent < opts.stopAfterBytes) {
        if (opts.pauseAfterBytes !== undefined && sent >= opts.pauseAfterBytes && answered === null) {
          req.once('response', pump) // wait for the answer before sending more
          return
        }
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      req.end(`\r\n--${boundary}--\r\n`)
    }
    pump()
  })
}

/**
 * What many HTTP libraries do (Python's http.client, for one): send the request, body and all,
 * and only then read the answer. Any socket error while sending (a reset because the server
 * closed with our bytes unread) fails the upload there, and the answer is never read.
 */
function writeAllThenRead(
  port: number,
  auth: Record<string, string>,
  fileBytes: number,
  framing: 'content-length' | 'chunked',
): Promise<string> {
  const boundary = 'write-all-boundary'
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="big.png"\r\n` +
      'Content-Type: image/png\r\n\r\n',
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const chunked = framing === 'chunked'
  const frame = (data: Buffer) =>
    chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const received: Buffer[] = []
    socket.on('error', reject)
    socket.pause()
    socket.write(
      `POST ${UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${auth.cookie}\r\nX-CSRFToken: ${auth['x-csrftoken']}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
        (chunked
          ? 'Transfer-Encoding: chunked\r\n\r\n'
          : `Content-Length: ${head.length + fileBytes + tail.length}\r\n\r\n`),
    )
    socket.write(frame(head))
    const chunk = Buffer.alloc(64 * 1024, 0x5a)
    let sent = 0
    const pump = () => {
      while (sent < fileBytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, fileBytes - sent))
        sent += piece.length
        if (!socket.write(frame(piece))) {
          socket.once('drain', pump)
          return
        }
      }
      socket.write(Buffer.concat([frame(tail), Buffer.from(chunked ? '0\r\n\r\n' : '')]), () => {
        // Everything is sent: only now read the answer, until the server closes.
        socket.on('data', (data: Buffer) => received.push(data))
        socket.on('end', () => resolve(Buffer.concat(received).toString('latin1')))
        socket.resume()
      })
    }
    pump()
  })
}

describe('avatar uploads over a real socket: the 413 reaches the client', () => {
  const MAX_BYTES = 256 * 1024
  let t: TestApp
  let agent: Agent
  let port: number
  before(async () => {
    t = await buildTestApp({ env: { ...GENEROUS_LIMITS, MAX_UPLOAD_BYTES: String(MAX_BYTES) } })
    ;({ agent } = await signedIn(t))
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    port = (t.app.server.address() as AddressInfo).port
  })
  after(() => t.close())

  test(
    'chunked: answered 413 as soon as the limit is crossed, while the client is still sending',
    { timeout: 10_000 },
    async () => {
      const answer = await uploadOverSocket(port, await credentials(agent), {
        pauseAfterBytes: MAX_BYTES + 128 * 1024,
        stopAfterBytes: 4 * 1024 * 1024,
      })
      assert.equal(answer.status, 413)
      assert.equal(JSON.parse(answer.body).error, MESSAGES.tooLarge)
      assert.equal(answer.headers.connection, 'close')
      assert.ok(answer.sentWhenAnswered < 4 * 1024 * 1024, 'the answer came before the body was finished')
    },
  )

  for (const framing of ['content-length', 'chunked'] as const) {
    test(
      `${framing}: a client that writes its whole body before reading anything gets the 413, not a reset`,
      { timeout: 10_000 },
      async () => {
        const auth = await credentials(agent)
        for (let round = 0; round < 3; round++) {
          const text = await writeAllThenRead(port, auth, 12 * 1024 * 1024, framing)
          assert.match(text, /^HTTP\/1\.1 413 /)
          assert.match(text, /connection: close/i)
          assert.match(text, /File too large/)
        }
      },
    )
  }

  test(
    'a 403 (CSRF) or 401 in front of a large body reaches a client that writes everything first',
    { timeout: 10_000 },
    async () => {
      const forged = { ...(await credentials(agent)), 'x-csrftoken': 'x'.repeat(75) }
      const refused = await writeAllThenRead(port, forged, 12 * 1024 * 1024, 'content-length')
      assert.match(refused, /^HTTP\/1\.1 403 /)
      assert.match(refused, /CSRF token invalid/)
      const anonymous = await credentials(createAgent(t.app)) // a session and a token, nobody signed in
      const unauthenticated = await writeAllThenRead(port, anonymous, 12 * 1024 * 1024, 'chunked')
      assert.match(unauthenticated, /^HTTP\/1\.1 401 /)
      assert.match(unauthenticated, /connection: close/i)
    },
  )

  test(
    'Content-Length over the limit: 413 before the body is sent, then the server closes',
    { timeout: 10_000 },
    async () => {
      const auth = await credentials(agent)
      const received = await new Promise<{ text: string }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1')
        let text = ''
        socket.on('data', (chunk) => (text += chunk.toString('latin1')))
        socket.on('end', () => {
          socket.destroy()
          resolve({ text })
        })
        socket.on('error', reject)
        socket.write(
          `POST ${UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${auth.cookie}\r\nX-CSRFToken: ${auth['x-csrftoken']}\r\n` +
            `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n--b\r\n`,
        )
      })
      assert.match(received.text, /^HTTP\/1\.1 413 /)
      assert.match(received.text, /connection: close/i)
      assert.match(received.text, /File too large/)
    },
  )

  test('the server still answers normally afterwards', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`)
    assert.equal(res.status, 200)
  })
})

describe('avatar uploads: bounded concurrency', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({ env: GENEROUS_LIMITS })
  })
  after(() => t.close())

  test('ten concurrent 1024×768 uploads all succeed, each stored for its own user', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => signedIn(t)))
    const input = await makeJpeg(1024, 768, { noise: true })
    const results = await Promise.all(users.map(({ agent }) => upload(agent, input)))
    const urls = results.map(avatarUrlOf)
    urls.forEach((url, i) => assert.equal(AVATAR_URL.exec(url)![1], String(users[i]!.id)))
    for (const url of urls) assert.equal((await createAgent(t.app).get(url)).statusCode, 200)
  })

  test('beyond the uploads-in-flight bound: 503 with Retry-After, before the body is read; slots come back', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let holdingNow = 0
    const real = createImageProcessor({ limits: avatarImageLimits({ maxImageWidth: 4096, maxImageHeight: 4096 }) })
    const holding: ImageProcessor = {
      async process(input): Promise<ProcessedImage> {
        holdingNow++
        await held
        return real.process(input)
      },
    }
    const bounded = await buildTestApp({ env: GENEROUS_LIMITS, deps: { imageProcessor: holding } })
    try {
      const { agent } = await signedIn(bounded)
      await agent.csrfToken()
      const png = await makePng(32, 32)
      const post = () => upload(agent, png)
      const inFlight = Array.from({ length: DEFAULT_MAX_UPLOADS_IN_FLIGHT }, post)
      while (holdingNow < DEFAULT_MAX_UPLOADS_IN_FLIGHT) await new Promise((resolve) => setImmediate(resolve))
      const busy = await post()
      assertRefused(busy, 503, 'Server busy, try again shortly')
      assert.equal(busy.headers['retry-after'], '5')
      assert.equal(rejectionLine(bounded, busy).reason, 'busy')
      // The profile page's form draws on the same pool: no way around the bound.
      const page = await agent.post('/profile/avatar', {
        multipart: [{ name: 'avatar', filename: 'a.png', contentType: 'image/png', data: png }],
        csrfIn: 'field',
      })
      assert.equal(page.statusCode, 503)
      assert.equal(page.headers['retry-after'], '5')
      release()
      for (const res of await Promise.all(inFlight)) avatarUrlOf(res)
      avatarUrlOf(await post())
    } finally {
      await bounded.close()
    }
  })
})
