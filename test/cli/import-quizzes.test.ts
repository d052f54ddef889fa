/**
 * `lectern import` and quizzes (CONTRACT §12): a lesson's quiz is stored with it, course.md's
 * pass_percent sets the pass mark, and a malformed quiz or pass_percent stops the import with
 * exit 2, naming the file and the line (counted in the file, front matter included).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { importCommand } from '../../src/cli/import.ts'
import { openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp } from '../support/app.ts'
import { contentFolder, databaseKinds, runCommand } from '../support/factories.ts'
import { QUIZ_LESSON } from '../support/quizzes.ts'
import { createSchema, urlWithSchema } from '../scale/scale-support.ts'

const manifest = (slug: string, extra = '') =>
  `---\ntitle: Quizzed\nslug: ${slug}\ndescription: With a quiz.\n${extra}---\n`

for (const { kind, postgresUrl } of databaseKinds()) {
  describe(`lectern import with quizzes on ${kind}`, () => {
    let dataDir: string
    let env: Record<string, string>
    let dropSchema: (() => Promise<void>) | undefined
    let database: DatabaseHandle

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'lectern-import-quiz-'))
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
      await database.close()
      await dropSchema?.()
      rmSync(dataDir, { recursive: true, force: true })
    })

    async function importFolder(files: Record<string, string>) {
      const root = contentFolder(files)
      try {
        return await runCommand(importCommand, [root], { env })
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }

    async function lessonJson(slug: string, n: number) {
      const t = await buildTestApp({ deps: { database: { ...database, close: async () => {} } } })
      try {
        return (await createAgent(t).get(`/api/courses/${slug}/lessons/${n}`)).json().lesson
      } finally {
        await t.close()
      }
    }

    test('the quiz is imported with its lesson, with pass_percent; re-importing keeps its ids', async () => {
      const files = {
        'course.md': manifest('quizzed', 'pass_percent: 60\n'),
        '01-intro.md': '# Intro\n\nHello.\n',
        '02-codes.md': `---\ntitle: Codes\n---\n${QUIZ_LESSON}\n`,
      }
      const first = await importFolder(files)
      assert.equal(first.code, 0, first.stderr)
      const lesson = await lessonJson('quizzed', 2)
      assert.equal(lesson.quiz.pass_percent, 60)
      assert.deepEqual(
        lesson.quiz.questions.map((q: { id: string; choices: Array<{ id: string }> }) => [
          q.id,
          q.choices.map((c) => c.id),
        ]),
        [
          ['q1', ['q1c1', 'q1c2']],
          ['q2', ['q2c1', 'q2c2', 'q2c3']],
        ],
      )
      assert.ok(!lesson.body_html.includes('Too many requests'))
      assert.equal((await lessonJson('quizzed', 1)).quiz, null)

      const again = await importFolder({ ...files, 'course.md': manifest('quizzed') })
      assert.equal(again.code, 0, again.stderr)
      const reimported = await lessonJson('quizzed', 2)
      assert.deepEqual(reimported.quiz.questions, lesson.quiz.questions, 'same quiz, same ids')
      assert.equal(reimported.quiz.pass_percent, 80, 'pass_percent removed: the default again')

      const removed = await importFolder({ ...files, '02-codes.md': '# Codes\n\nNo quiz any more.\n' })
      assert.equal(removed.code, 0, removed.stderr)
      assert.equal((await lessonJson('quizzed', 2)).quiz, null)
    })

    test('a malformed quiz: exit 2 naming the file and the line in the file, nothing written', async () => {
      const result = await importFolder({
        'course.md': manifest('broken-quiz'),
        // Front matter (3 lines), title, blank, fence on line 6, the bad choice on line 8.
        '01-codes.md': '---\ntitle: Codes\n---\nIntro.\n\n```quiz\n? Q\n- [y] nope\n- [x] yes\n```\n',
        '02-more.md': '# More\n\n```quiz\n? Only one\n- [x] a\n```\n',
      })
      assert.equal(result.code, 2)
      assert.equal(result.stdout, '')
      assert.match(result.stderr, /- 01-codes\.md:8: quiz: a choice is written "- \[ \] text" or "- \[x\] text"\n/)
      assert.match(result.stderr, /- 02-more\.md:4: quiz: the question has 1 choice; it needs 2 to 10\n/)
      const written = await database.db.selectFrom('courses').select('id').where('slug', '=', 'broken-quiz').execute()
      assert.deepEqual(written, [])
    })

    test('pass_percent must be 1..100, and only a course has one', async () => {
      for (const bad of ['0', '101', 'most']) {
        const result = await importFolder({
          'course.md': manifest('bad-pass', `pass_percent: ${bad}\n`),
          '01-a.md': '# A\n',
        })
        assert.equal(result.code, 2, bad)
        assert.match(result.stderr, /course\.md: pass_percent must be a whole number from 1 to 100/)
      }
      const ebook = await importFolder({
        'ebook.md': manifest('bad-ebook', 'pass_percent: 50\n'),
        '01-a.md': '# A\n',
      })
      assert.equal(ebook.code, 2)
      assert.match(ebook.stderr, /ebook\.md: unknown front matter key "pass_percent"/)
    })
  })
}
