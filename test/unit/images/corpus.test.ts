/**
 * The public corpus beside the repository (`../shared/corpora/images`): real malformed,
 * malicious and edge-case files, each with the answer MANIFEST.tsv expects. Without the folder
 * the suite is skipped loudly, except in CI (CI=true), where a missing corpus is a failure.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import {
  createImageProcessor,
  DEFAULT_IMAGE_LIMITS,
  ImageRejectedError,
  type RejectionReason,
} from '../../../src/images/index.ts'
import { imageCorpusDir, imageCorpusPresent } from '../../support/images.ts'

type Expected = 'OK' | 'UF' | 'DIM' | 'REJ' | 'INV' | 'ANY'
interface CorpusRow {
  path: string
  bytes: number
  sha256: string
  expected: Expected
  note: string
}

/** What each manifest code allows: 'accepted', or the reasons a rejection may give. */
const ALLOWED: Record<Expected, ReadonlyArray<'accepted' | RejectionReason>> = {
  OK: ['accepted'],
  UF: ['unsupported_format'],
  DIM: ['dimensions'],
  INV: ['invalid'],
  REJ: ['dimensions', 'invalid', 'unsupported_format'],
  ANY: ['accepted', 'invalid'],
}

/** Bytes from the polyglots that must never reach a stored avatar. */
const PAYLOADS = ['<?php', '/etc/passwd']

/** Files the README names as costly: each must be refused from its header, before any decoding. */
const HEADER_ONLY = /^(fuzzdb\/uber\.gif|fuzzdb\/lottapixel\.jpg|sharp\/65536-uint32-limit\.png|libpng\/huge_.*)$/

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
  // A mismatch here is a damaged corpus, not a validator failure: say so plainly.
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

if (!imageCorpusPresent()) {
  const notice = `image corpus not found at ${corpusDir}`
  if (isCI) {
    test('the image corpus is present (required in CI)', () => assert.fail(notice))
  } else {
    process.stderr.write(`\n!!! SKIPPING the image corpus suite: ${notice}\n\n`)
    test('image corpus', { skip: notice }, () => {})
  }
} else {
  const rows = readManifest()
  const processor = createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS })

  describe(`image corpus: ${rows.length} real-world files, each with its expected answer`, () => {
    for (const row of rows) {
      test(`${row.expected} ${row.path}`, { timeout: 10_000 }, async () => {
        const bytes = readCorpusFile(row)
        let outcome: 'accepted' | RejectionReason
        try {
          const result = await processor.process(bytes)
          outcome = 'accepted'
          const metadata = await sharp(result.data).metadata()
          assert.equal(`image/${metadata.format}`, result.contentType, 'a real image content type')
          assert.ok(result.width <= 512 && result.height <= 512, `stored ${result.width}×${result.height}`)
          assert.equal(metadata.exif, undefined, 'no EXIF (and so no GPS) in the stored image')
          for (const payload of PAYLOADS)
            assert.equal(result.data.includes(payload), false, `stored bytes carry ${payload}`)
        } catch (error) {
          if (!(error instanceof ImageRejectedError)) throw error // anything else fails the row as it is
          outcome = error.reason
          if (HEADER_ONLY.test(row.path)) assert.doesNotMatch(error.detail, /^decoder/, 'refused before decoding')
        }
        assert.ok(
          ALLOWED[row.expected].includes(outcome),
          `${row.path}: expected ${row.expected}, got ${outcome} (${row.note})`,
        )
      })
    }

    test('the costly files are refused without a memory spike', async () => {
      const costly = rows.filter((row) => HEADER_ONLY.test(row.path)).map((row) => readCorpusFile(row))
      assert.ok(costly.length >= 20, 'the README names over twenty costly files')
      const idleBytes = process.memoryUsage().rss
      let peakBytes = idleBytes
      for (let round = 0; round < 5; round++) {
        for (const bytes of costly) {
          await assert.rejects(processor.process(bytes), ImageRejectedError)
          peakBytes = Math.max(peakBytes, process.memoryUsage().rss)
        }
      }
      // Decoding any one of them would need gigabytes; refusing them all needs next to nothing.
      assert.ok(
        peakBytes - idleBytes < 32 * 1024 * 1024,
        `RSS rose by ${((peakBytes - idleBytes) / 1048576).toFixed(1)} MB`,
      )
    })
  })
}
