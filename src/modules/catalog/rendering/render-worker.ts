import { parentPort } from 'node:worker_threads'
import { renderSafeHtml, reviewMarkdown } from './markdown.ts'

/**
 * Inside the render worker: one Markdown source in, its sanitized HTML out (or, asked for a
 * review, the HTML and what the sanitizer removed). The pool stops this thread when a render
 * overruns its budget, so nothing here needs to watch the time.
 */
const port = parentPort!
port.on('message', (message: string | { review: string }) => {
  try {
    port.postMessage(typeof message === 'string' ? { html: renderSafeHtml(message) } : reviewMarkdown(message.review))
  } catch (error) {
    port.postMessage({ error: error instanceof Error ? error.message : String(error) })
  }
})
// Loading markdown-it and sanitize-html takes a while: the budget starts after it.
port.postMessage({ ready: true })
