/**
 * The public image corpus (`<repo>/../shared/corpora/images`, see its README) uploaded through
 * the real route, signed in and with a CSRF token: every file gets the answer MANIFEST.tsv
 * expects (status and message), none a 5xx or a hang, a refusal leaves the previous avatar,
 * and an accepted file is served as a re-encoded image of at most 512×512 without EXIF or the
 * polyglots' payloads. Without the folder the suite is skipped loudly; with CI=true it fails.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { createAgent, type Agent, type AgentResponse } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { imageCorpusDir, imageCorpusPresent, makePng } from '../support/images.ts'

type Expected = 'OK' | 'UF' | 'DIM' | 'REJ' | 'INV' | 'ANY'
interface CorpusRow {
  path: string
  bytes: number
  sha256: string
  expected: Expected
  note: string
}

const UNSUPPORTED = 'Unsupported image format'
const DIMENSIONS = 'Image dimensions too large'
const INVALID = 'Invalid image'

/** The answers each manifest code allows: 200, or a 400 with one of these messages. */
const ALLOWED: Record<Expected, ReadonlyArray<200 | string>> = {
  OK: [200],
  UF: [UNSUPPORTED],
  DIM: [DIMENSIONS],
  INV: [INVALID],
  REJ: [DIMENSIONS, INVALID, UNSUPPORTED],
  ANY: [200, INVALID],
}

/** Bytes from the polyglots that must never reach a stored avatar. */
const PAYLOADS = ['<?php', '/etc/passwd']

const corpusDir = imageCorpusDir()
const isCI = process.env.CI === 'true'

function readManifest(): CorpusRow[] {
  const [header, ...lines] = readFileSync(join(corpusDir, 'MANIFEST.tsv'), 'utf8').trimEnd().split('\n')
  const columns = header!.split('\t')
  const at = (name: string) => {
    const index = columns.indexOf(name)
    assert.ok(index >= 0, `MANIFEST.tsv has no ${name} column`)
    return index
  }
  const [path, bytes, sha256, expected, note] = ['path', 'bytes', 'sha256', 'expected', 'note'].map(at) as number[]
  return lines.map((line) => {
    const fields = line.split('\t')
    const row = {
      path: fields[path!]!,
      bytes: Number(fields[bytes!]),
      sha256: fields[sha256!]!,
      expected: fields[expected!] as Expected,
      note: fields[note!] ?? '',
    }
    assert.ok(row.expected in ALLOWED, `unknown expectation ${row.expected} for ${row.path}`)
    return row
  })
}

function readCorpusFile(row: CorpusRow): Buffer {
  const bytes = readFileSync(join(corpusDir, row.path))
  // A mismatch here is a damaged corpus, not a route failure: say so plainly.
  assert.equal(
    bytes.length,
    row.bytes,
    `corpus error: ${row.path} has ${bytes.length} bytes, MANIFEST says ${row.bytes}`,
  )
  assert.equal(
    createHash('sha256').update(bytes).digest('hex'),
    row.sha256,
    `corpus error: ${row.path} checksum differs`,
  )
  return bytes
}

function answerOf(res: AgentResponse): 200 | string {
  assert.ok(res.statusCode < 500, `a ${res.statusCode}: ${res.body}`)
  if (res.statusCode === 200) return 200
  assert.equal(res.statusCode, 400, res.body)
  return (res.json() as { error: string }).error
}

if (!imageCorpusPresent()) {
  const notice = `image corpus not found at ${corpusDir}`
  if (isCI) {
    test('the image corpus is present (required in CI)', () => assert.fail(notice))
  } else {
    process.stderr.write(`\n!!! SKIPPING the HTTP image corpus suite: ${notice}\n\n`)
    test('image corpus over HTTP', { skip: notice }, () => {})
  }
} else {
  const rows = readManifest()

  describe(`image corpus through POST /api/upload-avatar: ${rows.length} files, each with its expected answer`, () => {
    let t: TestApp
    let agent: Agent
    let currentUrl: string

    const upload = (data: Buffer, filename: string, contentType: string) =>
      agent.post('/api/upload-avatar', { multipart: [{ name: 'avatar', filename, contentType, data }] })

    async function storedUrl(): Promise<string | null> {
      return ((await agent.get('/api/me')).json() as { user: { avatar_url: string | null } }).user.avatar_url
    }

    before(async () => {
      // Hundreds of uploads from one user: the avatar policy has suites of its own.
      t = await buildTestApp({ env: { RATE_LIMIT_AVATAR: '100000/1h', RATE_LIMIT_REGISTER: '100/1h' } })
      agent = createAgent(t.app)
      const res = await agent.post('/api/register', {
        json: { username: 'corpus', email: 'corpus@example.org', password: 'correct horse battery staple' },
      })
      assert.equal(res.statusCode, 201, res.body)
      const first = await upload(await makePng(8, 8), 'start.png', 'image/png')
      assert.equal(first.statusCode, 200, first.body)
      currentUrl = (first.json() as { avatar_url: string }).avatar_url
    })
    after(() => t.close())

    for (const row of rows) {
      test(`${row.expected} ${row.path}`, { timeout: 10_000 }, async () => {
        const bytes = readCorpusFile(row)
        // A neutral name and type, then a lying one: the bytes decide, so the answer is the same.
        const neutral = await upload(bytes, 'upload.bin', 'application/octet-stream')
        const answer = answerOf(neutral)
        assert.ok(
          ALLOWED[row.expected].includes(answer),
          `${row.path}: expected ${row.expected}, got ${answer} (${row.note})`,
        )
        const lying = await upload(bytes, 'avatar.png', 'image/png')
        assert.equal(answerOf(lying), answer, 'the name and declared type change nothing')

        if (answer !== 200) {
          assert.equal(await storedUrl(), currentUrl, 'a refusal leaves the previous avatar')
          return
        }
        currentUrl = (lying.json() as { avatar_url: string }).avatar_url
        assert.equal(await storedUrl(), currentUrl)
        const served = await agent.get(currentUrl)
        assert.equal(served.statusCode, 200)
        const metadata = await sharp(served.rawPayload).metadata()
        assert.equal(served.headers['content-type'], `image/${metadata.format}`, 'its real image content type')
        assert.ok(['image/jpeg', 'image/png'].includes(String(served.headers['content-type'])))
        assert.equal(served.headers['x-content-type-options'], 'nosniff')
        assert.ok(metadata.width <= 512 && metadata.height <= 512, `served ${metadata.width}×${metadata.height}`)
        assert.equal(metadata.exif, undefined, 'no EXIF (and so no GPS) in the served image')
        for (const payload of PAYLOADS) {
          assert.equal(served.rawPayload.includes(payload), false, `the served image carries ${payload}`)
        }
      })
    }

    test('after the whole corpus the server still answers, and every refusal was logged with its reason', async () => {
      assert.equal((await agent.get('/healthz')).statusCode, 200)
      const refusals = t.events('upload_rejected')
      assert.ok(refusals.length > 0)
      for (const line of refusals) {
        const reason = (line.extra as { reason: string }).reason
        assert.ok(['unsupported_format', 'dimensions', 'invalid'].includes(reason), reason)
      }
      assert.equal(t.events('unhandled_error').length, 0)
    })
  })
}
