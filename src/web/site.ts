import type { RegistrationMode } from '../config/index.ts'
import type { HtmlErrorPages } from '../http/error-handler.ts'
import { systemClock, type Clock } from '../lib/clock.ts'
import { createAssets, type Assets } from './assets.ts'
import { createErrorPages } from './error-pages.ts'
import { createPages, type Pages } from './page.ts'
import { createViews, type Views } from './views.ts'

/**
 * What every page for people is drawn with: the templates, the bundled scripts and stylesheet,
 * the page renderer, and the HTML error pages the one error handler uses. Built before the
 * routes (buildApp), since errors can happen before any page route is reached.
 */
export interface Site {
  views: Views
  assets: Assets
  pages: Pages
  errorPages: HtmlErrorPages
}

export async function createSite(opts: {
  csrfTtlMs: number
  /** REGISTRATION (default `open`): whether pages offer visitors a way to register. */
  registration?: RegistrationMode
  /** Tells a rate-limited person the time they can try again (the system clock when not given). */
  clock?: Clock
}): Promise<Site> {
  const views = createViews()
  const assets = await createAssets()
  const pages = createPages({ views, assets, csrfTtlMs: opts.csrfTtlMs, registration: opts.registration ?? 'open' })
  return { views, assets, pages, errorPages: createErrorPages(pages, opts.clock ?? systemClock) }
}
