import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { readContentFolder } from '../../src/modules/importer/folder.ts'
import { importIntoCatalog } from '../../src/modules/importer/import.ts'
import { resolveFolderImages, storeFolderMedia } from '../../src/modules/importer/folder-images.ts'
import { createImageProcessor, DEFAULT_IMAGE_LIMITS } from '../../src/images/index.ts'
import { createMarkdownRenderer } from '../../src/modules/catalog/rendering/markdown.ts'
import { createAgent, type Agent, type AgentResponse } from '../support/agent.ts'
import type { TestApp } from '../support/app.ts'

/** What a browser sends when it navigates: it asks for HTML. */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

/**
 * A browser without JavaScript, over app.inject: it opens pages (asking for HTML), and submits
 * forms the way a page's form does, with the `csrf_token` field of the last page it opened.
 */
export interface PageClient {
  agent: Agent
  open(url: string): Promise<AgentResponse>
  /** Posts an urlencoded form, `csrf_token` first: the last page's token unless one is given (`null`: none). */
  submit(url: string, fields: Record<string, string>, options?: { token?: string | null }): Promise<AgentResponse>
  /** Opens where a 303 points. */
  follow(res: AgentResponse): Promise<AgentResponse>
  /** The HTML of the last page opened or shown after a form. */
  readonly html: string
}

export function createPageClient(app: FastifyInstance): PageClient {
  const agent = createAgent(app, { headers: { accept: BROWSER_ACCEPT } })
  let html = ''
  const keep = (res: AgentResponse) => {
    if (String(res.headers['content-type'] ?? '').startsWith('text/html')) html = res.body
    return res
  }
  return {
    agent,
    async open(url) {
      return keep(await agent.get(url))
    },
    async submit(url, fields, options = {}) {
      const token = options.token === undefined ? formToken(html) : options.token
      if (token === null) return keep(await agent.post(url, { form: fields, csrf: false }))
      return keep(await agent.post(url, { form: fields, csrf: token, csrfIn: 'field' }))
    },
    async follow(res) {
      const location = res.headers.location
      if (res.statusCode !== 303 || typeof location !== 'string') {
        throw new Error(`expected a 303 with a Location, got ${res.statusCode}`)
      }
      return keep(await agent.get(location))
    },
    get html() {
      return html
    },
  }
}

/** The value of the first `csrf_token` field in a page. */
export function formToken(html: string): string {
  const match = /<input type="hidden" name="csrf_token" value="([^"]+)">/.exec(html)
  if (!match) throw new Error('no csrf_token field in the page')
  return match[1]!
}

/** Every <form> of a page, with its method, action and whether it carries a csrf_token field. */
export function formsOf(
  html: string,
): Array<{ method: string; action: string; hasToken: boolean; tokenFirst: boolean; html: string }> {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([whole, attrs, inner]) => {
    const firstField = /<(input|select|textarea|button)\b[^>]*>/.exec(inner!)?.[0] ?? ''
    return {
      method: /method="([^"]*)"/.exec(attrs!)?.[1] ?? 'get',
      action: /action="([^"]*)"/.exec(attrs!)?.[1] ?? '',
      hasToken: /name="csrf_token" value="[A-Za-z0-9_-]{20,}"/.test(inner!),
      tokenFirst: firstField.includes('name="csrf_token"'),
      html: whole,
    }
  })
}

/**
 * What the strict CSP (script-src 'self'; style-src 'self') would block, or what would need
 * 'unsafe-inline' to work: inline <script> bodies, <style> elements, style="" attributes and
 * inline event handlers. Empty for a clean page.
 */
export function inlineCodeIn(html: string): string[] {
  const problems: string[] = []
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (!/\bsrc=/.test(match[1]!) || match[2]!.trim() !== '') problems.push(`inline script: ${match[0].slice(0, 80)}`)
  }
  if (/<style\b/i.test(html)) problems.push('a <style> element')
  for (const match of html.matchAll(/<[a-z][^>]*\s(style|on[a-z]+)\s*=/gi))
    problems.push(`attribute ${match[1]}: ${match[0].slice(0, 80)}`)
  if (/javascript:/i.test(html)) problems.push('a javascript: URL')
  return problems
}

/** The text of the element with this id (tags stripped), or null. */
export function textOf(html: string, id: string): string | null {
  const match = new RegExp(`<([a-z0-9]+)\\b[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html)
  return match
    ? match[2]!
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ')
        .trim()
    : null
}

/** The opening tag of the element with this id, or null. */
export function tagOf(html: string, id: string): string | null {
  return new RegExp(`<[a-z0-9]+\\b[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0] ?? null
}

/** The demo course (7 lessons) and ebook (4 chapters) of content/demo, imported as `lectern import` would. */
export const DEMO_FOLDERS = ['web-fundamentals', 'http-in-brief'] as const

export async function importContent(t: TestApp, folders: readonly string[] = DEMO_FOLDERS.map(demoFolder)) {
  const markdown = createMarkdownRenderer()
  const processor = createImageProcessor({ limits: DEFAULT_IMAGE_LIMITS })
  for (const path of folders) {
    const { folder, media } = await resolveFolderImages(await readContentFolder(path, markdown), {
      processor,
      maxFileBytes: 5 * 1024 * 1024,
    })
    await t.database.db.transaction().execute(async (trx) => {
      await storeFolderMedia(trx, media, t.clock)
      return importIntoCatalog(trx, folder, { clock: t.clock })
    })
  }
}

export function demoFolder(name: string): string {
  return fileURLToPath(new URL(`../../content/demo/${name}/`, import.meta.url))
}
