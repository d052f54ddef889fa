import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import { renderSafeHtml } from '../../src/modules/catalog/rendering/markdown.ts'

const DEMO = fileURLToPath(new URL('../../content/demo/', import.meta.url))
const demoFiles = readdirSync(DEMO, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.md'))

describe('the demo content', () => {
  test('no list item swallows the next: a line opening with a bold lead starts its own item', () => {
    assert.ok(demoFiles.length > 5)
    for (const file of demoFiles) {
      const html = renderSafeHtml(readFileSync(join(DEMO, file), 'utf8'))
      for (const [, item] of html.matchAll(/<li>((?:(?!<li>)[\s\S])*?)<\/li>/g)) {
        assert.doesNotMatch(item!, /\n<strong>/, `${file}: two items run together in "${item!.slice(0, 80)}"`)
      }
    }
  })

  test('chapter 2 of the ebook lists the four status codes as four items', () => {
    const html = renderSafeHtml(readFileSync(join(DEMO, 'http-in-brief/02-status-codes.md'), 'utf8'))
    for (const code of ['401 Unauthorized', '403 Forbidden', '400 Bad Request', '422 Unprocessable Content']) {
      assert.match(html, new RegExp(`<li><strong>${code}</strong>`))
    }
  })
})
