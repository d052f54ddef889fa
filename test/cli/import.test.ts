import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { importCommand } from '../../src/cli/import.ts'
import { openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { parseFrontMatter } from '../../src/modules/importer/front-matter.ts'
import { ContentFolderError, readContentFolder } from '../../src/modules/importer/folder.ts'
import { createMarkdownRenderer } from '../../src/modules/catalog/rendering/markdown.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp } from '../support/app.ts'
import { contentFolder, databaseKinds, runCommand } from '../support/factories.ts'
import { runLectern } from '../support/process.ts'
import { NESTING_BOMB } from '../fixtures/markdown/hostile.ts'
import { createSchema, urlWithSchema } from '../scale/scale-support.ts'

const COURSE_MD = '---\ntitle: Web basics\nslug: web-basics\ndescription: What pages are made of.\n---\n'

/** A course folder: course.md plus these lesson files. */
const courseFiles = (lessons: Record<string, string | Buffer>, manifest = COURSE_MD) => ({
  'course.md': manifest,
  ...lessons,
})

const markdown = createMarkdownRenderer()

async function problemsOf(files: Record<string, string | Buffer>, prepare?: (root: string) => void): Promise<string[]> {
  const root = contentFolder(files)
  try {
    prepare?.(root)
    await readContentFolder(root, markdown)
  } catch (error) {
    if (error instanceof ContentFolderError) return error.problems
    throw error
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  throw new Error('the folder was accepted')
}

describe('front matter', () => {
  test('key: value lines, quoted or not, comments skipped, the body after the block', () => {
    const parsed = parseFrontMatter(
      `---\r\ntitle: HTML: the basics\r\n# a comment\r\nslug: "html-basics"\r\ndescription: 'It''s short'\r\nempty:\r\n---\r\n# Body\r\n`,
    )
    assert.equal(parsed.present, true)
    assert.deepEqual(
      { ...parsed.data },
      {
        title: 'HTML: the basics',
        slug: 'html-basics',
        description: "It's short",
        empty: '',
      },
    )
    assert.equal(parsed.body, '# Body\n')
  })

  test('no block: the whole file is the body', () => {
    assert.deepEqual(parseFrontMatter('# Just text\n'), { present: false, data: {}, body: '# Just text\n' })
  })

  test('anything beyond key: value is an error, not a guess', () => {
    for (const [text, message] of [
      ['---\ntitle: x\n', /no closing ---/],
      ['---\n- a list item\n---\n', /line 2: expected "key: value"/],
      ['---\ntitle: a\ntitle: b\n---\n', /"title" is given twice/],
      ['---\ntitle: "unterminated\n---\n', /double-quoted/],
      ['---\n  nested: value\n---\n', /expected "key: value"/],
    ] as const) {
      assert.throws(() => parseFrontMatter(text), message, text)
    }
  })

  test('a key named __proto__ is just a key', () => {
    const parsed = parseFrontMatter('---\n__proto__: polluted\n---\n')
    assert.equal(parsed.data.__proto__, 'polluted')
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })
})

describe('content folders', () => {
  test('a course folder: lessons in numeric order, titles from the heading or front matter', async () => {
    const root = contentFolder(
      courseFiles({
        '2-second.md': '# Second\n\nBody two.\n',
        '10-tenth.md': '---\ntitle: Tenth, from front matter\n---\n\nNo heading here.\n',
        '01-first.md': '# First\n\nBody one.\n',
        'README.md': 'Notes for authors, not a lesson.',
        'images/diagram.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      }),
    )
    try {
      const folder = await readContentFolder(root, markdown)
      assert.equal(folder.kind, 'course')
      assert.deepEqual(
        { slug: folder.slug, title: folder.title, description: folder.description, published: folder.published },
        { slug: 'web-basics', title: 'Web basics', description: 'What pages are made of.', published: null },
      )
      assert.deepEqual(
        folder.parts.map((p) => [p.number, p.key, p.title, p.markdown]),
        [
          [1, 'first', 'First', 'Body one.\n'],
          [2, 'second', 'Second', 'Body two.\n'],
          [10, 'tenth', 'Tenth, from front matter', 'No heading here.\n'],
        ],
      )
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  test('ebook.md makes an ebook folder; published: false makes a draft', async () => {
    const root = contentFolder({
      'ebook.md': '---\ntitle: A book\nslug: a-book\npublished: false\n---\n',
      '01-one.md': '# One\n',
    })
    try {
      const folder = await readContentFolder(root, markdown)
      assert.equal(folder.kind, 'ebook')
      assert.equal(folder.published, false)
      assert.equal(folder.description, '')
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  const lesson = { '01-intro.md': '# Intro\n' }
  const cases: Array<[string, Record<string, string | Buffer>, RegExp, ((root: string) => void)?]> = [
    ['no course.md or ebook.md', { '01-intro.md': '# Intro\n' }, /^no course\.md or ebook\.md in this folder$/],
    [
      'both course.md and ebook.md',
      { ...courseFiles(lesson), 'ebook.md': COURSE_MD },
      /a folder holds one course or one ebook/,
    ],
    ['missing front matter', courseFiles(lesson, '# Web basics\n'), /^course\.md: missing front matter/],
    ['no title', courseFiles(lesson, '---\nslug: x\n---\n'), /^course\.md: front matter needs a title$/],
    ['no slug', courseFiles(lesson, '---\ntitle: X\n---\n'), /^course\.md: front matter needs a slug$/],
    [
      'a bad slug',
      courseFiles(lesson, '---\ntitle: X\nslug: Not A Slug\n---\n'),
      /^course\.md: slug "Not A Slug" must be/,
    ],
    [
      'an unknown key',
      courseFiles(lesson, `${COURSE_MD.slice(0, -4)}author: me\n---\n`),
      /unknown front matter key "author"/,
    ],
    [
      'published neither true nor false',
      courseFiles(lesson, `${COURSE_MD.slice(0, -4)}published: maybe\n---\n`),
      /published must be true or false/,
    ],
    [
      'unclosed front matter',
      courseFiles(lesson, '---\ntitle: X\nslug: x\n'),
      /^course\.md: front matter has no closing --- line$/,
    ],
    [
      'duplicate numbers',
      courseFiles({ '01-a.md': '# A\n', '1-b.md': '# B\n' }),
      /^01-a\.md and 1-b\.md have the same number 1$/,
    ],
    ['duplicate names', courseFiles({ '01-intro.md': '# A\n', '02-intro.md': '# B\n' }), /have the same name "intro"/],
    [
      'an unnumbered lesson file',
      courseFiles({ ...lesson, 'outro.md': '# Outro\n' }),
      /^outro\.md: not numbered \(lesson files are named like 01-intro\.md\)$/,
    ],
    ['a lesson without a title', courseFiles({ '01-a.md': 'No heading at all.\n' }), /^01-a\.md: no title/],
    [
      'a lesson with an unknown front matter key',
      courseFiles({ '01-a.md': '---\nauthor: me\n---\n# A\n' }),
      /^01-a\.md: unknown front matter key "author"/,
    ],
    [
      'a file that is not UTF-8',
      courseFiles({ '01-a.md': Buffer.from([0x23, 0x20, 0xff, 0xfe, 0x41]) }),
      /^01-a\.md: not valid UTF-8 text$/,
    ],
    [
      'a link to nowhere',
      courseFiles(lesson),
      /^02-gone\.md: is a symbolic link \(links are not followed/,
      (root) => symlinkSync(join(root, 'nowhere'), join(root, '02-gone.md')),
    ],
    [
      'a folder named like a lesson',
      courseFiles(lesson),
      /^02-dir\.md: cannot read: is a folder/,
      (root) => mkdirSync(join(root, '02-dir.md')),
    ],
    ['no lessons at all', courseFiles({}), /^no numbered lesson files/],
  ]
  for (const [name, files, message, prepare] of cases) {
    test(`refused with a clear message: ${name}`, async () => {
      const problems = await problemsOf(files, prepare)
      assert.ok(
        problems.some((problem) => message.test(problem)),
        `${message} in ${JSON.stringify(problems)}`,
      )
    })
  }

  test('every problem of a folder is listed at once', async () => {
    const problems = await problemsOf(
      courseFiles({ '01-a.md': '# A\n', '1-b.md': '# B\n', '02-c.md': 'untitled' }, '---\ntitle: X\n---\n'),
    )
    assert.equal(problems.length, 3, JSON.stringify(problems))
  })

  test('the folder itself must exist', async () => {
    await assert.rejects(readContentFolder(join(tmpdir(), 'lectern-no-such-folder'), markdown), (error) => {
      assert.ok(error instanceof ContentFolderError)
      assert.deepEqual(error.problems, ['cannot open the folder: does not exist'])
      return true
    })
  })
})

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`lectern import on ${kind}`, () => {
    let dataDir: string
    let env: Record<string, string>
    let dropSchema: (() => Promise<void>) | undefined
    let database: DatabaseHandle

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'lectern-import-'))
      env = { DATA_DIR: dataDir }
      if (kind === 'postgres') {
        const { schema, drop } = await createSchema(postgresUrl!)
        env.DATABASE_URL = urlWithSchema(postgresUrl!, schema)
        dropSchema = drop
      }
      // The command opens and migrates the database itself; this handle only looks.
      assert.equal((await runCommand(importCommand, ['--help'], { env })).code, 0)
      database = openDatabase({ databaseUrl: env.DATABASE_URL ?? null, sqlitePath: sqlitePathFor(dataDir) })
    })
    after(async () => {
      await database.close()
      await dropSchema?.()
      rmSync(dataDir, { recursive: true, force: true })
    })

    const lessonsOf = (slug: string) =>
      database.db
        .selectFrom('lessons')
        .innerJoin('courses', 'courses.id', 'lessons.course_id')
        .select(['lessons.id', 'lessons.title', 'lessons.body_markdown', 'lessons.source_key'])
        .where('courses.slug', '=', slug)
        .orderBy('lessons.position')
        .execute()

    test('imports a course, published, with its lessons in order; exit 0 and a summary', async () => {
      const root = contentFolder(
        courseFiles({ '01-intro.md': '# Intro\n\nHello.\n', '02-html.md': '# HTML\n\nTags.\n' }),
      )
      try {
        const result = await runCommand(importCommand, [root], { env })
        assert.equal(result.code, 0, result.stderr)
        assert.equal(
          result.stdout,
          'Created course "web-basics" (Web basics): 2 lessons (2 added, 0 updated, 0 unchanged, 0 removed).\n',
        )
        const course = await database.db
          .selectFrom('courses')
          .selectAll()
          .where('slug', '=', 'web-basics')
          .executeTakeFirstOrThrow()
        assert.equal(course.published, 1)
        assert.equal(course.description, 'What pages are made of.')
        assert.deepEqual(
          (await lessonsOf('web-basics')).map((l) => [l.title, l.body_markdown, l.source_key]),
          [
            ['Intro', 'Hello.\n', 'intro'],
            ['HTML', 'Tags.\n', 'html'],
          ],
        )
        const again = await runCommand(importCommand, [root], { env })
        assert.equal(again.code, 0)
        assert.match(again.stdout, /^Updated course "web-basics" .*\(0 added, 0 updated, 2 unchanged, 0 removed\)/)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

    test('re-importing updates in place and keeps learners’ progress in lessons that still exist', async () => {
      const root = contentFolder({
        'course.md': COURSE_MD.replace('web-basics', 'kept-progress'),
        '01-intro.md': '# Intro\n',
        '02-html.md': '# HTML\n',
        '03-css.md': '# CSS\n',
      })
      try {
        const first = await runCommand(importCommand, [root], { env })
        assert.equal(first.code, 0, first.stderr)
        const before = await lessonsOf('kept-progress')
        const user = await database.db
          .insertInto('users')
          .values({
            username: 'learner',
            username_lower: 'learner',
            email: 'learner@example.org',
            email_lower: 'learner@example.org',
            password_hash: 'x',
            display_name: '',
            bio: '',
            role: 'learner',
            disabled: 0,
            created_at: 0,
            updated_at: 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        await database.db
          .insertInto('lesson_completions')
          .values(before.map((lesson) => ({ user_id: user.id, lesson_id: lesson.id, completed_at: 1 })))
          .execute()

        // The author renumbers (CSS first), rewrites HTML, drops Intro, adds Forms.
        unlinkSync(join(root, '01-intro.md'))
        unlinkSync(join(root, '03-css.md'))
        writeFileSync(join(root, '01-css.md'), '# CSS\n')
        writeFileSync(join(root, '02-html.md'), '# HTML, rewritten\n\nNew text.\n')
        writeFileSync(join(root, '03-forms.md'), '# Forms\n')
        const result = await runCommand(importCommand, [root], { env })
        assert.equal(result.code, 0, result.stderr)
        assert.match(result.stdout, /3 lessons \(1 added, 1 updated, 1 unchanged, 1 removed\)/)

        const after = await lessonsOf('kept-progress')
        const idOf = (lessons: typeof before, key: string) => lessons.find((l) => l.source_key === key)?.id
        assert.deepEqual(
          after.map((l) => l.title),
          ['CSS', 'HTML, rewritten', 'Forms'],
        )
        assert.equal(idOf(after, 'css'), idOf(before, 'css'), 'same lesson, new number')
        assert.equal(idOf(after, 'html'), idOf(before, 'html'), 'same lesson, new text')
        const completed = await database.db
          .selectFrom('lesson_completions')
          .select('lesson_id')
          .where('user_id', '=', user.id)
          .execute()
        assert.deepEqual(
          completed.map((c) => c.lesson_id).sort(),
          [idOf(before, 'css'), idOf(before, 'html')].sort(),
          'progress kept where the lesson still exists, gone with the removed one',
        )
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

    test('publication: front matter decides when given; otherwise what staff set stays', async () => {
      const manifest = (published?: string) =>
        `---\ntitle: Drafty\nslug: drafty\n${published === undefined ? '' : `published: ${published}\n`}---\n`
      const root = contentFolder(courseFiles({ '01-a.md': '# A\n' }, manifest('false')))
      const published = async () =>
        (
          await database.db
            .selectFrom('courses')
            .select('published')
            .where('slug', '=', 'drafty')
            .executeTakeFirstOrThrow()
        ).published
      try {
        await runCommand(importCommand, [root], { env })
        assert.equal(await published(), 0)
        writeFileSync(join(root, 'course.md'), manifest())
        await runCommand(importCommand, [root], { env })
        assert.equal(await published(), 0, 'no published key: left as it was')
        writeFileSync(join(root, 'course.md'), manifest('true'))
        await runCommand(importCommand, [root], { env })
        assert.equal(await published(), 1)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

    test('imports an ebook with its chapters', async () => {
      const root = contentFolder({
        'ebook.md': '---\ntitle: Short book\nslug: short-book\ndescription: Brief.\n---\n',
        '01-start.md': '# Start\n',
        '02-end.md': '# End\n',
      })
      try {
        const result = await runCommand(importCommand, [root], { env })
        assert.equal(result.code, 0, result.stderr)
        assert.match(result.stdout, /^Created ebook "short-book" \(Short book\): 2 chapters/)
        const chapters = await database.db
          .selectFrom('chapters')
          .innerJoin('ebooks', 'ebooks.id', 'chapters.ebook_id')
          .select('chapters.title')
          .where('ebooks.slug', '=', 'short-book')
          .orderBy('chapters.position')
          .execute()
        assert.deepEqual(
          chapters.map((c) => c.title),
          ['Start', 'End'],
        )
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

    test('a lesson too complex to render: exit 2 naming the file, nothing written', async () => {
      const root = contentFolder(
        courseFiles(
          { '01-intro.md': '# Intro\n\nHello.\n', '02-bomb.md': `# Bomb\n\n${NESTING_BOMB}\n` },
          COURSE_MD.replace('slug: web-basics', 'slug: too-complex'),
        ),
      )
      try {
        const result = await runCommand(importCommand, [root], { env })
        assert.equal(result.code, 2)
        assert.match(
          result.stderr,
          /cannot be imported:\n {2}- 02-bomb\.md: too complex to render \(render took longer than 2000 ms\)/,
        )
        assert.doesNotMatch(result.stderr, /01-intro/)
        assert.equal(
          await database.db.selectFrom('courses').select('id').where('slug', '=', 'too-complex').executeTakeFirst(),
          undefined,
        )
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

    test('a bad folder: exit 2, every problem on stderr, nothing written', async () => {
      const root = contentFolder(
        courseFiles({ '01-a.md': '# A\n', '1-b.md': '# B\n' }, '---\ntitle: Broken\nslug: broken\n---\n'),
      )
      try {
        const result = await runCommand(importCommand, [root], { env })
        assert.equal(result.code, 2)
        assert.equal(result.stdout, '')
        assert.match(result.stderr, /cannot be imported:\n {2}- 01-a\.md and 1-b\.md have the same number 1\n$/)
        const written = await database.db.selectFrom('courses').select('id').where('slug', '=', 'broken').execute()
        assert.deepEqual(written, [])
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })

    describe('symbolic links are refused: exit 2 naming the link, nothing written', () => {
      const SECRET = 'SESSION_SECRET=do-not-publish-me'
      let outside: string
      before(() => {
        outside = mkdtempSync(join(tmpdir(), 'lectern-outside-'))
        writeFileSync(join(outside, '.env'), `# Secret\n\n${SECRET}\n`)
        mkdirSync(join(outside, 'private'))
        writeFileSync(join(outside, 'private', 'notes.txt'), SECRET)
      })
      after(() => rmSync(outside, { recursive: true, force: true }))

      const cases: Array<[string, string, (root: string) => void]> = [
        [
          'a lesson linked to a secret file outside the folder',
          '02-secret.md',
          (root) => symlinkSync(join(outside, '.env'), join(root, '02-secret.md')),
        ],
        [
          'a lesson linked by a relative path climbing out',
          '02-secret.md',
          (root) => symlinkSync(relative(root, join(outside, '.env')), join(root, '02-secret.md')),
        ],
        [
          'a sub-folder linked to a folder outside',
          'images',
          (root) => symlinkSync(join(outside, 'private'), join(root, 'images')),
        ],
        [
          'course.md linked to a file outside',
          'course.md',
          (root) => {
            writeFileSync(join(outside, 'course.md'), COURSE_MD.replace('web-basics', 'linked-course'))
            unlinkSync(join(root, 'course.md'))
            symlinkSync(join(outside, 'course.md'), join(root, 'course.md'))
          },
        ],
        [
          // Refused too: a link's target would have to be judged, and can change before the read.
          'a lesson linked to another lesson inside the folder',
          '02-again.md',
          (root) => symlinkSync('01-intro.md', join(root, '02-again.md')),
        ],
      ]
      for (const [name, link, prepare] of cases) {
        test(name, async () => {
          const slug = 'linked-course'
          const root = contentFolder(courseFiles({ '01-intro.md': '# Intro\n' }, COURSE_MD.replace('web-basics', slug)))
          try {
            prepare(root)
            const result = await runCommand(importCommand, [root], { env })
            assert.equal(result.code, 2, result.stdout)
            assert.equal(result.stdout, '')
            assert.ok(result.stderr.includes(`  - ${link}: is a symbolic link (links are not followed`), result.stderr)
            assert.ok(!result.stderr.includes(SECRET), 'the target is never shown')
            const written = await database.db.selectFrom('courses').select('id').where('slug', '=', slug).execute()
            assert.deepEqual(written, [])
          } finally {
            rmSync(root, { recursive: true, force: true })
          }
        })
      }

      test('PATH itself may be a link to the folder (the operator named it): imported', async () => {
        const root = contentFolder(
          courseFiles({ '01-intro.md': '# Intro\n' }, COURSE_MD.replace('web-basics', 'reached-by-link')),
        )
        const link = join(outside, 'course-link')
        try {
          symlinkSync(root, link)
          const result = await runCommand(importCommand, [link], { env })
          assert.equal(result.code, 0, result.stderr)
          assert.match(result.stdout, /^Created course "reached-by-link"/)
        } finally {
          rmSync(link, { force: true })
          rmSync(root, { recursive: true, force: true })
        }
      })
    })

    test('what an author writes reaches the page sanitized', async () => {
      const root = contentFolder(
        courseFiles(
          {
            '01-xss.md':
              '# Payloads\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n',
          },
          COURSE_MD.replace('web-basics', 'imported-xss'),
        ),
      )
      try {
        const imported = await runCommand(importCommand, [root], { env })
        assert.equal(imported.code, 0, imported.stderr)
        const t = await buildTestApp({ deps: { database: { ...database, close: async () => {} } } })
        try {
          const res = await createAgent(t).get('/api/courses/imported-xss/lessons/1')
          assert.equal(res.statusCode, 200)
          // The script block is gone (its line break stays), the handler and the javascript: URL too;
          // a raw <img> of no stored media is dropped whole (CONTRACT §12: only /media/ images).
          assert.equal(res.json().lesson.body_html, '\n\n<p><a>x</a></p>\n')
        } finally {
          await t.close()
        }
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    })
  })
}

describe('lectern import: usage', () => {
  const env = { DATA_DIR: join(tmpdir(), 'lectern-import-usage-unused') }
  for (const [argv, message] of [
    [[], /expected exactly one PATH/],
    [['a', 'b'], /expected exactly one PATH/],
    [['--force', 'a'], /unknown option "--force"/],
  ] as const) {
    test(`${JSON.stringify(argv)} is a usage error (exit 2)`, async () => {
      const result = await runCommand(importCommand, [...argv], { env })
      assert.equal(result.code, 2)
      assert.match(result.stderr, message)
      assert.match(result.stderr, /Usage: lectern import PATH/)
    })
  }

  test('an invalid configuration is exit 2 naming the variable', async () => {
    const root = contentFolder(courseFiles({ '01-a.md': '# A\n' }))
    try {
      const result = await runCommand(importCommand, [root], { env: { ...env, DATABASE_URL: 'mysql://x' } })
      assert.equal(result.code, 2)
      assert.match(result.stderr, /invalid configuration: DATABASE_URL/)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  test('as a process: bin/lectern import PATH imports (0), a bad folder is 2', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-import-process-'))
    const good = contentFolder(courseFiles({ '01-a.md': '# A\n' }))
    const bad = contentFolder({ '01-a.md': '# A\n' })
    try {
      const ok = await runLectern(['import', good], { env: { DATA_DIR: dataDir } })
      assert.equal(ok.code, 0, ok.stderr)
      assert.match(ok.stdout, /^Created course "web-basics"/)
      const refused = await runLectern(['import', bad], { env: { DATA_DIR: dataDir } })
      assert.equal(refused.code, 2)
      assert.match(refused.stderr, /no course\.md or ebook\.md in this folder/)
      assert.match((await runLectern(['--help'])).stdout, /import +import a course or an ebook/)
    } finally {
      for (const dir of [dataDir, good, bad]) rmSync(dir, { recursive: true, force: true })
    }
  })
})
