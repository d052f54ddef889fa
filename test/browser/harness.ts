import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp, type TestAppOptions } from '../support/app.ts'

export const PASSWORD = 'correct horse battery staple'

/**
 * Time bounds, so a hang fails and names its step instead of blocking `npm test`. Generous: each
 * suite uses about 15 s of CPU and finishes well within a minute on an idle machine; the bounds
 * leave room for a CI runner busy with other work.
 */
export const STEP = { timeout: 60_000 }
export const SUITE_TIMEOUT_MS = 180_000

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url))

/**
 * Why the browser suites cannot run here, or null when they can. Outside CI a missing Chromium
 * skips them with a loud notice; with CI=true it is a failure: in CI nothing is skipped.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null
  const message = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`
  if (process.env.CI === 'true') throw new Error(`${message}: the browser tests cannot be skipped in CI`)
  process.stderr.write(`\n*** SKIPPING the browser tests: ${message} ***\n\n`)
  return message
}

export interface BrowserSession {
  browser: Browser
  close(): Promise<void>
}

/**
 * Headless Chromium. Each launch gets a fresh, throw-away profile directory: Playwright creates
 * one per launch (its own --user-data-dir) and deletes it on close, so no cookie, cache or
 * storage survives from one run to the next.
 */
export async function launchChromium(): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 20_000 })
  return { browser, close: () => browser.close() }
}

export interface LiveApp {
  t: TestApp
  baseUrl: string
}

/** The real app on a real socket (127.0.0.1, a free port), with the test app's manual clock. */
export async function startLiveApp(options: TestAppOptions = {}): Promise<LiveApp> {
  const t = await buildTestApp(options)
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
  return { t, baseUrl: address }
}

/**
 * Everything a page must not do, collected as it happens: console errors, uncaught exceptions,
 * CSP violations (from the `securitypolicyviolation` event and from Chromium's console report)
 * and failed requests. A page that is itself an error (a 404, a 401 form, a 429) makes Chromium
 * log "Failed to load resource" for it: that one line is expected, for that document and status
 * only. `allow` adds an expected failure (a 403 a script is about to retry).
 */
export interface PageWatch {
  problems(): string[]
  allow(urlPart: string, status: number): void
}

const FAILED_LOAD = /^Failed to load resource: the server responded with a status of (\d{3})/

export async function watchPage(page: Page): Promise<PageWatch> {
  const problems: string[] = []
  const documents = new Set<string>()
  const allowed: Array<{ urlPart: string; status: number }> = []

  await page.exposeBinding('__reportCspViolation', (_source, text: string) => {
    problems.push(`CSP violation: ${text}`)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __reportCspViolation(text: string): void }).__reportCspViolation
      report(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} on ${event.documentURI}`)
    })
  })

  page.on('response', (response: Response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) {
      documents.add(`${response.status()} ${response.url()}`)
    }
  })
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    const text = message.text()
    const failed = FAILED_LOAD.exec(text)
    const url = message.location().url
    if (failed) {
      const status = Number(failed[1])
      if (documents.has(`${status} ${url}`)) return
      if (allowed.some((entry) => entry.status === status && url.includes(entry.urlPart))) return
    }
    problems.push(`console error: ${text} (${url})`)
  })
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
  page.on('requestfailed', (request) => {
    // A navigation that replaces a page cancels what the old page was still loading: not a fault.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return
    problems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`)
  })
  return {
    problems: () => [...problems],
    allow: (urlPart, status) => {
      allowed.push({ urlPart, status })
    },
  }
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({
    path: join(SCREENSHOT_DIR, `${name}.png`),
    fullPage: true,
    scale: 'css',
    animations: 'disabled',
    caret: 'hide',
  })
}

export interface OpenedPage {
  context: BrowserContext
  page: Page
  watch: PageWatch
}

/**
 * A page in a fresh context (its own cookies), watched for console errors and CSP violations.
 * `javaScript: false` is a browser with scripts off: every page must still work.
 */
export async function openContext(
  session: BrowserSession,
  width = 1280,
  options: { javaScript?: boolean } = {},
): Promise<OpenedPage> {
  const context = await session.browser.newContext({
    viewport: { width, height: 800 },
    javaScriptEnabled: options.javaScript ?? true,
  })
  context.setDefaultTimeout(15_000)
  const page = await context.newPage()
  const watch = await watchPage(page)
  return { context, page, watch }
}

/**
 * A context already signed in as `username`: the session comes from POST /api/login and its
 * cookie is handed to the browser. For people whose signing in is not what a test is about.
 */
export async function signedInContext(session: BrowserSession, live: LiveApp, username: string, width = 1280) {
  const api = createAgent(live.t.app)
  const res = await api.post('/api/login', { json: { username, password: PASSWORD } })
  assert.equal(res.statusCode, 200, `API sign-in of ${username}`)
  const opened = await openContext(session, width)
  await opened.context.addCookies([{ name: 'lectern_session', value: api.sessionCookie()!, url: live.baseUrl }])
  return opened
}

/** Clicks the button of a form and waits for the page the form leads to. */
export async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(selector)])
}
