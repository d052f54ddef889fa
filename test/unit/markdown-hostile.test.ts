import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createMarkdownRenderer } from '../../src/modules/catalog/rendering/markdown.ts'
import { ContentTooComplexError } from '../../src/modules/catalog/rendering/render-pool.ts'
import { HOSTILE_MARKDOWN, NESTING_BOMB, ORDINARY_LESSON } from '../fixtures/markdown/hostile.ts'

// That the event loop stays free meanwhile is proven over HTTP: test/http/content-render-budget.test.ts.

/** Shorter than the production budget (2 s), so the suite is quick; the behaviour is the same. */
const BUDGET_MS = 1_000
/** Starting a worker (tsx, markdown-it, sanitize-html) is not part of the budget; on a busy machine it takes a while. */
const WORKER_START_SLACK_MS = 8_000

/** Outcome of one render: the HTML, or the refusal; any other error fails the test. */
async function attempt(render: () => Promise<string>): Promise<string | ContentTooComplexError> {
  try {
    return await render()
  } catch (error) {
    if (error instanceof ContentTooComplexError) return error
    throw error
  }
}

describe('hostile Markdown: rendered safely or refused within the budget, never an unhandled error', () => {
  const markdown = createMarkdownRenderer({ budgetMs: BUDGET_MS })
  after(() => markdown.close())

  for (const hostile of HOSTILE_MARKDOWN) {
    test(`${hostile.name} (${hostile.aims})`, async () => {
      const started = performance.now()
      const result = await attempt(() => markdown.render(hostile.markdown))
      const elapsedMs = performance.now() - started
      assert.ok(elapsedMs < BUDGET_MS + WORKER_START_SLACK_MS, `answered after ${elapsedMs.toFixed(0)} ms`)
      if (result instanceof ContentTooComplexError) {
        assert.equal(result.reason, 'time')
        return
      }
      assert.doesNotMatch(result, /<(script|iframe|svg|math|object|embed)\b/i)
      assert.doesNotMatch(result, /<[^>]*\son[a-z]+\s*=/i, 'no event handler')
      assert.doesNotMatch(result, /href\s*=\s*"\s*javascript:/i)
    })
  }

  test('a nesting bomb is refused, and the refusal remembered: asking again costs nothing', async () => {
    const started = performance.now()
    const result = await attempt(() => markdown.render(NESTING_BOMB))
    assert.ok(result instanceof ContentTooComplexError, 'refused')
    assert.ok(performance.now() - started < BUDGET_MS + WORKER_START_SLACK_MS)

    const again = performance.now()
    await assert.rejects(markdown.render(NESTING_BOMB), ContentTooComplexError)
    assert.ok(performance.now() - again < 50, 'the refusal is remembered, not rendered again')
  })

  test('after a refusal the next document renders in a fresh worker', async () => {
    await assert.rejects(markdown.render(`${NESTING_BOMB}\n`), ContentTooComplexError)
    const html = await markdown.render(ORDINARY_LESSON)
    assert.match(html, /<h2>Forms that work<\/h2>/)
    assert.match(html, /<kbd>Tab<\/kbd>/)
  })

  test('readers of the same new document share one render', async () => {
    const source = `${ORDINARY_LESSON}\nShared.\n`
    const [first, second] = [markdown.render(source), markdown.render(source)]
    assert.equal(await first, await second)
  })

  test('renders queued behind a refused one still run', async () => {
    const bomb = attempt(() => markdown.render(`${NESTING_BOMB}\n\n`))
    const queued = markdown.render('Queued *behind* it.')
    assert.ok((await bomb) instanceof ContentTooComplexError)
    assert.equal(await queued, '<p>Queued <em>behind</em> it.</p>\n')
  })

  test('a closed renderer refuses with an error, never hangs', async () => {
    const closing = createMarkdownRenderer({ budgetMs: BUDGET_MS })
    const pending = assert.rejects(closing.render(NESTING_BOMB), /closed/)
    await closing.close()
    await pending
    await assert.rejects(closing.render('x'), /closed/)
  })
})
