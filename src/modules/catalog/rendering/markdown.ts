import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import MarkdownIt from 'markdown-it'
import sanitizeHtml from 'sanitize-html'
import { ContentTooComplexError, createRenderPool } from './render-pool.ts'
import { MEDIA_URL_PATTERN } from '../../media/media-url.ts'

/**
 * Markdown → HTML that is safe to put in a page, whatever the author wrote (docs/adr/0011).
 *
 * markdown-it renders, with raw HTML allowed so authors can use <kbd>, <details> or a table
 * markdown cannot express; sanitize-html then keeps only an allowlist of tags, attributes and
 * URL schemes. The sanitizer is the one gate: markdown-it's own link check is switched off so a
 * refused link vanishes cleanly (`<a>text</a>`) instead of reappearing as its source text.
 */
export interface MarkdownRenderer {
  /**
   * Sanitized HTML for a Markdown source, rendered off the event loop. Cached by content, so a
   * changed source is never served stale. Rejects with ContentTooComplexError when the render
   * does not fit its budget.
   */
  render(markdown: string): Promise<string>
  /**
   * The title a document gives itself: the plain text of its first `# heading`. When that
   * heading opens the document it is removed from the body, so a page does not show it twice.
   */
  splitTitle(markdown: string): { title: string | null; body: string }
  /**
   * For the editor: the HTML a source renders to and what the sanitizer took out of it, named
   * by kind. Not cached (an editor previews text that changes); the same budget as render().
   */
  review(markdown: string): Promise<MarkdownReview>
  /** Stops the render worker for good: later renders are refused. */
  close(): Promise<void>
}

/** Bounded by characters of HTML held, not entries: one long chapter must not evict the rest unnoticed. */
const DEFAULT_CACHE_CHARS = 20_000_000
/**
 * Far above any real lesson (a 500,000-character chapter of prose and tables renders in well
 * under a second), far below what a reader would wait for (docs/benchmarks.md, "Markdown").
 */
export const DEFAULT_RENDER_BUDGET_MS = 2_000
/** Refusals remembered; each is a hash and an error, and only staff can store new documents. */
const MAX_REFUSALS_KEPT = 1_000

const ALLOWED_TAGS = [
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'kbd', 'samp', 'var',
  'strong', 'em', 'b', 'i', 'u', 's', 'del', 'ins', 'mark', 'sub', 'sup', 'small', 'abbr', 'cite', 'q',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'a', 'img', 'figure', 'figcaption', 'details', 'summary',
  'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'div', 'span',
] // prettier-ignore

/**
 * Elements whose content is not prose: dropped together with their content, not unwrapped.
 * Unwrapping <script> or <style> would print code as text; unwrapping <svg>/<math> would let
 * foreign-namespace parsing tricks through a text node.
 */
const DROPPED_WITH_CONTENT = [
  'script', 'style', 'textarea', 'option', 'xmp', 'noscript', 'noembed', 'noframes', 'plaintext',
  'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'template', 'title', 'svg', 'math', 'select',
] // prettier-ignore

/** Links may leave the site, mail, or stay relative; nothing else (no javascript:, data:, vbscript:, file:). */
const LINK_SCHEMES = ['http', 'https', 'mailto']
/**
 * Images come from this site's own media store only (`/media/<sha256>.<ext>`): the CSP allows no
 * other image source, and a picture from elsewhere would tell that site who reads the lesson.
 * Markdown images from anywhere else are rendered as links (the image rule below); an `<img>`
 * written as raw HTML with any other source is dropped.
 */
const MEDIA_IMAGE_SOURCE = MEDIA_URL_PATTERN

export const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  // No `style`, `class` (except code languages), `id` or `name`: no CSS overlays, no DOM clobbering.
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    abbr: ['title'],
    ol: ['start'],
    th: ['colspan', 'rowspan'],
    td: ['colspan', 'rowspan'],
  },
  allowedClasses: { code: [/^language-[A-Za-z0-9_+-]{1,40}$/] },
  allowedSchemes: LINK_SCHEMES,
  // No scheme at all: only the site-relative media paths kept by transformTags below.
  allowedSchemesByTag: { img: [] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  // `//evil.example/x` is an absolute URL in disguise; absolute URLs must say http(s).
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: DROPPED_WITH_CONTENT,
  transformTags: {
    // Our own rel on external links (never the author's): the opened page gets no handle on ours.
    a: (tagName, attribs) => {
      const { rel: _authorRel, ...rest } = attribs
      const external = /^\s*https?:/i.test(rest.href ?? '')
      return { tagName, attribs: external ? { ...rest, rel: 'noopener noreferrer' } : rest }
    },
    img: (tagName, attribs) => {
      const { src, ...rest } = attribs
      return { tagName, attribs: src !== undefined && MEDIA_IMAGE_SOURCE.test(src) ? { src, ...rest } : rest }
    },
  },
  // An image whose source was refused is dropped rather than left as a broken <img>.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
}

/** The sanitizer alone, for HTML from any source. */
export function sanitizeContentHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE_OPTIONS)
}

const parser = new MarkdownIt({ html: true, linkify: true, typographer: false })
// Every URL reaches the sanitizer, which drops what it refuses (see above).
parser.validateLink = () => true
const renderImage = parser.renderer.rules.image!
// `![alt](https://elsewhere/x.png)` becomes a link to it with the alt text as its words: the
// reader can still open it, and the page loads nothing from another site.
parser.renderer.rules.image = (tokens, index, options, env, self) => {
  const token = tokens[index]!
  const src = String(token.attrGet('src') ?? '')
  if (MEDIA_IMAGE_SOURCE.test(src)) return renderImage(tokens, index, options, env, self)
  const escape = parser.utils.escapeHtml
  const alt = self.renderInlineAsText(token.children ?? [], options, env).trim()
  return `<a href="${escape(src)}">${escape(alt || src)}</a>`
}

/**
 * The whole render, Markdown to sanitized HTML, synchronously. Its cost is superlinear for some
 * inputs (docs/adr/0016), so the server and the importer run it only in the render worker
 * (render-pool.ts), under a time budget; never on the event loop with an author's text.
 */
export function renderSafeHtml(markdown: string): string {
  return fitForThePage(sanitizeContentHtml(parser.render(markdown)))
}

export interface MarkdownReview {
  html: string
  /** What the sanitizer removed, by kind (`<script> element`, `onclick attribute`), with counts; empty when nothing. */
  removed: string[]
}

/** Every element and attribute of some HTML, counted by kind, as an HTML parser sees them (nothing filtered). */
function inventory(html: string): Map<string, number> {
  const kinds = new Map<string, number>()
  const count = (kind: string) => kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  sanitizeHtml(html, {
    allowedTags: false,
    allowedAttributes: false,
    allowVulnerableTags: true,
    allowedSchemesAppliedToAttributes: [],
    exclusiveFilter: (frame) => {
      count(`<${frame.tag}> element`)
      for (const name of Object.keys(frame.attribs)) count(`${name} attribute`)
      return false
    },
  })
  return kinds
}

/** The whole render as renderSafeHtml does it, and what the sanitizer took out (the editor's review). */
export function reviewMarkdown(markdown: string): MarkdownReview {
  const raw = parser.render(markdown)
  const sanitized = sanitizeContentHtml(raw)
  const kept = inventory(sanitized)
  const removed: string[] = []
  for (const [kind, n] of inventory(raw)) {
    const lost = n - (kept.get(kind) ?? 0)
    if (lost > 0) removed.push(lost === 1 ? kind : `${kind} (${lost})`)
  }
  return { html: fitForThePage(sanitized), removed }
}

/** The accessible name of a code block: a region a keyboard can reach and scroll. */
export const CODE_BLOCK_LABEL = 'Code example'

/**
 * What the page around a document needs of it, added after the sanitizer (so these attributes
 * are ours, never an author's; in sanitized HTML every `<` of text is escaped, so the patterns
 * below meet real tags only):
 * - headings start one level below the page's own h1 (the title): a document whose top level is
 *   `#` is shifted down as a whole, keeping its outline, and a `##` document stays as it is;
 * - a code block is a focusable, named region, so a line wider than the screen can be scrolled
 *   with the keyboard (axe's scrollable-region-focusable).
 */
export function fitForThePage(html: string): string {
  let top = 7
  for (const match of html.matchAll(/<h([1-6])[\s>]/g)) top = Math.min(top, Number(match[1]))
  const shift = top < 2 ? 2 - top : 0
  const shifted =
    shift === 0
      ? html
      : html.replace(/<(\/?)h([1-6])(?=[\s>])/g, (_, slash: string, level: string) => {
          return `<${slash}h${Math.min(6, Number(level) + shift)}`
        })
  return shifted.replaceAll('<pre>', `<pre tabindex="0" role="region" aria-label="${CODE_BLOCK_LABEL}">`)
}

/**
 * The title a document gives itself (see MarkdownRenderer.splitTitle). Parsing alone, block
 * level, for the importer's folder check; rendering is the part that needs a budget.
 */
export function splitTitle(markdown: string): { title: string | null; body: string } {
  const tokens = parser.parse(markdown, {})
  const index = tokens.findIndex((token) => token.type === 'heading_open' && token.tag === 'h1')
  if (index === -1) return { title: null, body: markdown }
  const inline = tokens[index + 1]
  // Plain text only: inline HTML in a heading is markup, not part of the title.
  const title = (inline?.children ?? [])
    .map((child) =>
      child.type === 'text' || child.type === 'code_inline' ? child.content : child.type === 'softbreak' ? ' ' : '',
    )
    .join('')
    .replace(/\s+/g, ' ')
    .trim()
  if (title === '') return { title: null, body: markdown }
  const heading = tokens[index]!
  if (index !== 0 || !heading.map) return { title, body: markdown }
  const lines = markdown.split('\n')
  return {
    title,
    body: lines
      .slice(heading.map[1])
      .join('\n')
      .replace(/^\s*\n/, ''),
  }
}

/**
 * The source of every image the Markdown shows (inline and reference-style), as the renderer
 * will see it, with the 0-based line of the block it is in. For the importer, which replaces
 * the images of a folder by stored media; parsing only, like splitTitle.
 */
export function imageSources(markdown: string): Array<{ src: string; line: number }> {
  const found: Array<{ src: string; line: number }> = []
  const walk = (tokens: ReturnType<typeof parser.parse>, line: number) => {
    for (const token of tokens) {
      const at = token.map ? token.map[0] : line
      if (token.type === 'image') found.push({ src: String(token.attrGet('src') ?? ''), line: at })
      if (token.children) walk(token.children, at)
    }
  }
  walk(parser.parse(markdown, {}), 0)
  return found
}

/** A link destination as written (`<a b.png>`, `a%20b.png`, `a\_b.png`) the way the renderer normalizes it. */
export function normalizeLinkDestination(raw: string): string {
  const bare = raw.startsWith('<') && raw.endsWith('>') ? raw.slice(1, -1) : raw
  return parser.normalizeLink(parser.utils.unescapeAll(bare))
}

export interface MarkdownRendererOptions {
  /** Characters of HTML the cache holds (default 20 M). */
  cacheChars?: number
  /** Wall time one render may take in the worker before it is stopped and refused (default 2 s). */
  budgetMs?: number
}

/**
 * The renderer the server and the importer share: renders in a worker thread under a time
 * budget, so no document can stall the event loop, and caches by content, so a page costs a
 * hash lookup after its first view. A refused document is remembered as refused: asking again
 * costs nothing and gets the same answer. Close it when done (the app does, on close).
 */
export function createMarkdownRenderer(opts: MarkdownRendererOptions = {}): MarkdownRenderer {
  const maxChars = opts.cacheChars ?? DEFAULT_CACHE_CHARS
  const pool = createRenderPool({ budgetMs: opts.budgetMs ?? DEFAULT_RENDER_BUDGET_MS })
  const cache = new LRUCache<string, string>({
    maxSize: maxChars,
    // An entry larger than the whole cache is simply not kept.
    sizeCalculation: (html) => Math.max(1, html.length),
  })
  const refused = new LRUCache<string, ContentTooComplexError>({ max: MAX_REFUSALS_KEPT })
  // Readers who open the same new lesson together share one render.
  const inFlight = new Map<string, Promise<string>>()

  async function renderAnew(key: string, markdown: string): Promise<string> {
    try {
      const html = await pool.render(markdown)
      if (html.length <= maxChars) cache.set(key, html)
      return html
    } catch (error) {
      if (error instanceof ContentTooComplexError) refused.set(key, error)
      throw error
    } finally {
      inFlight.delete(key)
    }
  }

  return {
    async render(markdown) {
      const key = createHash('sha256').update(markdown).digest('base64')
      const cached = cache.get(key)
      if (cached !== undefined) return cached
      const refusal = refused.get(key)
      if (refusal) throw refusal
      let pending = inFlight.get(key)
      if (!pending) {
        pending = renderAnew(key, markdown)
        inFlight.set(key, pending)
      }
      return pending
    },
    splitTitle,
    review: (markdown) => pool.review(markdown),
    close: () => pool.close(),
  }
}
