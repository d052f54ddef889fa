/**
 * `lectern import` with images (CONTRACT §12): a lesson's image shown by a path relative to the
 * folder is checked like an avatar, re-encoded, stored once and served from /media/; the Markdown
 * points there, alt text kept. A path leaving the folder, a link, a missing file or a refused
 * image stops the import (exit 2) naming the image and the file and line that show it, and writes
 * nothing. Images from other sites are left as links. The image corpus gets the avatar verdicts.
 * On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { importCommand } from '../../src/cli/import.ts'
import { openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { contentFolder, databaseKinds, runCommand } from '../support/factories.ts'
import { imageCorpusDir, imageCorpusPresent, makeBmp, makeJpeg, makePng } from '../support/images.ts'
import { createSchema, urlWithSchema } from '../scale/scale-support.ts'

const MEDIA = /\/media\/([0-9a-f]{64})\.(png|jpg)/g
const course = (slug: string) => `---\ntitle: Pictures ${slug}\nslug: ${slug}\ndescription: With images.\n---\n`

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`lectern import with images, on ${kind}`, () => {
    let dataDir: string
    let env: Record<string, string>
    let dropSchema: (() => Promise<void>) | undefined
    let database: DatabaseHandle
    let t: TestApp

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'lectern-import-media-'))
      env = { DATA_DIR: dataDir }
      if (kind === 'postgres') {
        const { schema, drop } = await createSchema(postgresUrl!)
        env.DATABASE_URL = urlWithSchema(postgresUrl!, schema)
        dropSchema = drop
      }
      assert.equal((await runCommand(importCommand, ['--help'], { env })).code, 0)
      database = openDatabase({ databaseUrl: env.DATABASE_URL ?? null, sqlitePath: sqlitePathFor(dataDir) })
    })
    after(async () => {
      await t?.close()
      await database.close()
      await dropSchema?.()
      rmSync(dataDir, { recursive: true, force: true })
    })

    /** The app over the database the command wrote (migrated by the first import). */
    async function app(): Promise<TestApp> {
      t ??= await buildTestApp({ deps: { database: { ...database, close: async () => {} } } })
      return t
    }

    const mediaCount = async () =>
      Number(
        (
          await database.db
            .selectFrom('media')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )

    async function importFolder(files: Record<string, string | Buffer>, prepare?: (root: string) => void) {
      const root = contentFolder(files)
      try {
        prepare?.(root)
        return await runCommand(importCommand, [root], { env })
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }

    test('a relative image becomes stored media: the Markdown points at /media/, alt kept, served re-encoded', async () => {
      const png = await makePng(2400, 600)
      const result = await importFolder({
        'course.md': course('with-images'),
        '01-intro.md': '# Intro\n\nBefore.\n\n![Request flow](images/flow.png)\n\nAfter.\n',
        '02-again.md': '# Again\n\nThe same picture: ![Same](./images/flow.png "title")\n',
        'images/flow.png': png,
      })
      assert.equal(result.code, 0, result.stderr)
      const lessons = await database.db
        .selectFrom('lessons')
        .innerJoin('courses', 'courses.id', 'lessons.course_id')
        .select('lessons.body_markdown')
        .where('courses.slug', '=', 'with-images')
        .orderBy('lessons.position')
        .execute()
      const [first, second] = lessons.map((lesson) => lesson.body_markdown)
      const url = /\/media\/[0-9a-f]{64}\.png/.exec(first!)![0]
      assert.equal(first, `Before.\n\n![Request flow](${url})\n\nAfter.\n`)
      assert.equal(second, `The same picture: ![Same](${url} "title")\n`)

      const served = await (await app()).app.inject({ url })
      assert.equal(served.statusCode, 200)
      assert.equal(served.headers['content-type'], 'image/png')
      const metadata = await sharp(served.rawPayload).metadata()
      assert.deepEqual([metadata.width, metadata.height], [1600, 400])
      assert.equal(createHash('sha256').update(served.rawPayload).digest('hex'), url.slice(7, 71))

      const page = await createAgent(t).get('/api/courses/with-images/lessons/1')
      assert.match(page.json().lesson.body_html, new RegExp(`<img src="${url}" alt="Request flow" />`))

      // Importing again stores nothing new: the same bytes are the same row.
      const count = await mediaCount()
      assert.equal(
        (
          await importFolder({
            'course.md': course('with-images'),
            '01-intro.md': '# Intro\n\nBefore.\n\n![Request flow](images/flow.png)\n\nAfter.\n',
            '02-again.md': '# Again\n\nThe same picture: ![Same](./images/flow.png "title")\n',
            'images/flow.png': png,
          })
        ).code,
        0,
      )
      assert.equal(await mediaCount(), count)
    })

    test('ebook chapters the same: a relative image is stored media, one from elsewhere a link', async () => {
      const result = await importFolder({
        'ebook.md': '---\ntitle: Pictured book\nslug: pictured-book\ndescription: x\n---\n',
        '01-one.md': '# One\n\n![Local](pics/a.png) and ![Remote](https://cdn.example/b.png)\n',
        'pics/a.png': await makePng(30, 20),
      })
      assert.equal(result.code, 0, result.stderr)
      const chapter = await createAgent(await app()).get('/api/ebooks/pictured-book/chapters/1')
      const html = chapter.json().chapter.body_html as string
      assert.match(html, /<img src="\/media\/[0-9a-f]{64}\.png" alt="Local" \/>/)
      assert.match(html, /<a href="https:\/\/cdn\.example\/b\.png" rel="noopener noreferrer">Remote<\/a>/)
    })

    test('an image from another site is left as it is and shown as a link', async () => {
      const result = await importFolder({
        'course.md': course('external-image'),
        '01-intro.md': '# Intro\n\n![Remote](https://cdn.example/remote.png)\n',
      })
      assert.equal(result.code, 0, result.stderr)
      const page = await createAgent(await app()).get('/api/courses/external-image/lessons/1')
      const html = page.json().lesson.body_html as string
      assert.equal(html, '<p><a href="https://cdn.example/remote.png" rel="noopener noreferrer">Remote</a></p>\n')
    })

    const refusals: Array<
      [
        string,
        Record<string, string | Buffer> | (() => Promise<Record<string, string | Buffer>>),
        RegExp,
        ((root: string) => void)?,
      ]
    > = [
      [
        'a path escaping the folder with ../',
        { '01-intro.md': '# Intro\n\nText.\n\n![Up](../outside.png)\n' },
        /- \.\.\/outside\.png \(01-intro\.md line 5\): outside the folder/,
      ],
      [
        'a path escaping through a sub-folder',
        { '01-intro.md': '# Intro\n\n![Up](images/../../x.png)\n', 'images/a.png': 'x' },
        /- images\/\.\.\/\.\.\/x\.png \(01-intro\.md line 3\): outside the folder/,
      ],
      [
        'an absolute path',
        { '01-intro.md': '# Intro\n\n![Root](/etc/passwd)\n' },
        /- \/etc\/passwd \(01-intro\.md line 3\): an absolute path/,
      ],
      [
        'a missing file',
        { '01-intro.md': '# Intro\n\n![Gone](images/gone.png)\n' },
        /- images\/gone\.png \(01-intro\.md line 3\): not found/,
      ],
      [
        'a symbolic link to a file outside',
        { '01-intro.md': '# Intro\n\n![Link](images/link.png)\n', 'images/real.png': 'x' },
        /- images\/link\.png \(01-intro\.md line 3\): a symbolic link/,
        (root) => symlinkSync(join(tmpdir(), 'lectern-outside-secret.png'), join(root, 'images', 'link.png')),
      ],
      [
        'a sub-folder that is a symbolic link',
        { '01-intro.md': '# Intro\n\n![Link](images/sub/a.png)\n', 'images/real.png': 'x' },
        /- images\/sub\/a\.png \(01-intro\.md line 3\): a symbolic link/,
        (root) => symlinkSync(tmpdir(), join(root, 'images', 'sub')),
      ],
      [
        'a BMP',
        { '01-intro.md': '# Intro\n\n![Old](images/old.bmp)\n', 'images/old.bmp': makeBmp() },
        /- images\/old\.bmp \(01-intro\.md line 3\): Unsupported image format/,
      ],
      [
        'an image over the dimension limit',
        async () => ({
          '01-intro.md': '# Intro\n\n![Huge](images/huge.jpg)\n',
          'images/huge.jpg': await makeJpeg(4097, 8),
        }),
        /- images\/huge\.jpg \(01-intro\.md line 3\): Image dimensions too large/,
      ],
    ]
    for (const [name, files, message, prepare] of refusals) {
      test(`${name}: exit 2 naming the image and where it is shown; nothing written`, async () => {
        const slug = `refused-${name.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')}`.slice(0, 60)
        const before = await mediaCount()
        const result = await importFolder(
          { 'course.md': course(slug), ...(typeof files === 'function' ? await files() : files) },
          prepare,
        )
        assert.equal(result.code, 2, result.stdout)
        assert.match(result.stderr, /cannot be imported:\n/)
        assert.match(result.stderr, message)
        assert.equal(
          await database.db.selectFrom('courses').select('id').where('slug', '=', slug).executeTakeFirst(),
          undefined,
        )
        assert.equal(await mediaCount(), before)
      })
    }

    test('every refused image of a folder is listed at once, each with every place it is shown', async () => {
      const result = await importFolder({
        'course.md': course('many-problems'),
        '01-a.md': '# A\n\n![One](missing-1.png)\n\n![Two](missing-2.png)\n',
        '02-b.md': '# B\n\n![One again](missing-1.png)\n',
      })
      assert.equal(result.code, 2)
      assert.match(result.stderr, /- missing-1\.png \(01-a\.md line 3, 02-b\.md line 3\): not found/)
      assert.match(result.stderr, /- missing-2\.png \(01-a\.md line 5\): not found/)
    })

    if (imageCorpusPresent()) {
      test('the image corpus: each file gets the avatar verdict at import', { timeout: 300_000 }, async () => {
        const corpus = imageCorpusDir()
        const [header, ...lines] = readFileSync(join(corpus, 'MANIFEST.tsv'), 'utf8').trimEnd().split('\n')
        const columns = header!.split('\t')
        const rows = lines.map((line) => {
          const fields = line.split('\t')
          return { path: fields[columns.indexOf('path')]!, expected: fields[columns.indexOf('expected')]! }
        })
        const allowed: Record<string, ReadonlyArray<string | null>> = {
          OK: [null],
          UF: ['Unsupported image format'],
          DIM: ['Image dimensions too large'],
          INV: ['Invalid image'],
          REJ: ['Image dimensions too large', 'Invalid image', 'Unsupported image format'],
          ANY: [null, 'Invalid image'],
        }
        const folderOf = (subset: typeof rows, slug: string) => {
          const root = mkdtempSync(join(tmpdir(), 'lectern-corpus-'))
          writeFileSync(join(root, 'course.md'), course(slug))
          writeFileSync(
            join(root, '01-corpus.md'),
            `# Corpus\n\n${subset.map((row) => `![${row.path}](<images/${row.path}>)`).join('\n\n')}\n`,
          )
          for (const row of subset) {
            mkdirSync(dirname(join(root, 'images', row.path)), { recursive: true })
            writeFileSync(join(root, 'images', row.path), readFileSync(join(corpus, row.path)))
          }
          return root
        }

        const all = folderOf(rows, 'corpus-all')
        let verdicts: Map<string, string>
        try {
          const result = await runCommand(importCommand, [all], { env })
          assert.equal(result.code, 2, 'the corpus holds refused files')
          verdicts = new Map(
            [...result.stderr.matchAll(/^ {2}- images\/(.+) \(01-corpus\.md line \d+\): (.+)$/gm)].map((m) => [
              m[1]!,
              m[2]!,
            ]),
          )
        } finally {
          rmSync(all, { recursive: true, force: true })
        }
        for (const row of rows) {
          const verdict = verdicts.get(row.path) ?? null
          assert.ok(allowed[row.expected]!.includes(verdict), `${row.path}: expected ${row.expected}, got ${verdict}`)
        }

        const accepted = rows.filter((row) => !verdicts.has(row.path))
        const good = folderOf(accepted, 'corpus-accepted')
        try {
          const result = await runCommand(importCommand, [good], { env })
          assert.equal(result.code, 0, result.stderr)
        } finally {
          rmSync(good, { recursive: true, force: true })
        }
        const lesson = await database.db
          .selectFrom('lessons')
          .innerJoin('courses', 'courses.id', 'lessons.course_id')
          .select('lessons.body_markdown')
          .where('courses.slug', '=', 'corpus-accepted')
          .executeTakeFirstOrThrow()
        const urls = [...lesson.body_markdown.matchAll(MEDIA)].map((m) => m[0])
        assert.equal(urls.length, accepted.length)
        assert.doesNotMatch(lesson.body_markdown, /\(<images\//)
        const served = await app()
        for (const url of new Set(urls)) {
          const res = await served.app.inject({ url })
          assert.equal(res.statusCode, 200, url)
          assert.match(String(res.headers['content-type']), /^image\/(png|jpeg)$/)
          const metadata = await sharp(res.rawPayload).metadata()
          assert.ok(Math.max(metadata.width, metadata.height) <= 1600, url)
          assert.equal(metadata.exif, undefined, url)
          for (const payload of ['<?php', '/etc/passwd']) assert.ok(!res.rawPayload.includes(payload), url)
        }
      })
    } else if (process.env.CI === 'true') {
      test('the image corpus is present (required in CI)', () => assert.fail(`no corpus at ${imageCorpusDir()}`))
    } else {
      process.stderr.write(`\n!!! SKIPPING the import corpus test: no corpus at ${imageCorpusDir()}\n\n`)
      test('image corpus at import', { skip: 'corpus not found' }, () => {})
    }
  })
}
