import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'

/** The templates, next to this file: `layout.eta`, `partials/*.eta`, `pages/*.eta`, `errors/*.eta`. */
export const VIEWS_DIR = fileURLToPath(new URL('./views/', import.meta.url))

export interface Views {
  /** The HTML of a template (`pages/login`), with `data` as `it`. Every `<%= %>` is escaped. */
  render(name: string, data: object): string
}

function templateNames(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((entry) => entry.endsWith('.eta'))
    .map((entry) => `/${entry.slice(0, -'.eta'.length).replaceAll('\\', '/')}`)
}

/**
 * Eta with escaping on by default: `<%= value %>` is HTML-escaped (& < > " '), so a display name
 * like `<script>` prints as text. Raw output (`<%~ %>`) is kept for composing our own templates
 * (includes, the layout's body) and for lesson and chapter HTML that the Markdown renderer has
 * already sanitized; each such use is commented in its template (test/http/pages-escaping.test.ts
 * checks there are no others).
 *
 * Every template is compiled here, at start-up: a syntax error stops the app from starting
 * rather than surfacing as a 500 on the first visit to a page.
 */
export function createViews(dir: string = VIEWS_DIR): Views {
  const eta = new Eta({ views: dir, autoEscape: true, cache: true, autoTrim: [false, 'nl'] })
  for (const name of templateNames(dir)) {
    // loadTemplate takes a name, so compile through render's cache: resolvePath + compile, no output.
    const path = eta.resolvePath!(name)
    eta.templatesSync.define(path, eta.compile(eta.readFile!(path), { filepath: path }))
  }
  return {
    render: (name, data) => eta.render(name.startsWith('/') ? name : `/${name}`, data),
  }
}

/** For tests: every template name, as `/pages/login`. */
export function listTemplates(dir: string = VIEWS_DIR): string[] {
  return templateNames(dir)
}
