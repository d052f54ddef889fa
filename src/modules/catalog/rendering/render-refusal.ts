import type { FastifyRequest } from 'fastify'
import { badRequest } from '../../../http/errors.ts'
import { securityEvent } from '../../../http/request-context.ts'
import type { MarkdownRenderer } from './markdown.ts'
import { ContentTooComplexError } from './render-pool.ts'

export const CONTENT_TOO_COMPLEX_MESSAGE = 'Content too complex to render'

/**
 * A body's sanitized HTML for a response, or a 400 when its render overran the budget (a body
 * built to stall the server, docs/adr/0016). Each refusal is one `content_rejected` line with
 * the body's size and why, never its text.
 */
export async function renderOrRefuse(req: FastifyRequest, markdown: MarkdownRenderer, source: string): Promise<string> {
  return refuseTooComplex(req, source, () => markdown.render(source))
}

/** The editor's review of a body (its HTML and what the sanitizer removed), or the same 400 as renderOrRefuse. */
export async function reviewOrRefuse(req: FastifyRequest, markdown: MarkdownRenderer, source: string) {
  return refuseTooComplex(req, source, () => markdown.review(source))
}

async function refuseTooComplex<T>(req: FastifyRequest, source: string, render: () => Promise<T>): Promise<T> {
  try {
    return await render()
  } catch (error) {
    if (!(error instanceof ContentTooComplexError)) throw error
    securityEvent(req, 'content_rejected', {
      reason: error.reason,
      budget_ms: error.budgetMs,
      chars: source.length,
    })
    throw badRequest(CONTENT_TOO_COMPLEX_MESSAGE)
  }
}
