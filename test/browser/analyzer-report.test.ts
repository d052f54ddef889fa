import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { analyzeLogsCommand } from '../../src/cli/analyze-logs/index.ts'
import { eventLine, logText, requestCompleteLine, seededRandom } from '../support/log-lines.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  screenshot,
  STEP,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
} from './harness.ts'

/** An hour of traffic with a bad patch in the middle, so every chart has something to show. */
function hourOfLogs(): string {
  const random = seededRandom(42)
  const lines: string[] = []
  const start = Date.UTC(2026, 10, 23, 10)
  for (let i = 0; i < 3000; i++) {
    const atMs = start + Math.floor((i / 3000) * 3_600_000)
    const incident = atMs > start + 1_500_000 && atMs < start + 1_900_000
    const status = random() < (incident ? 0.2 : 0.01) ? (random() < 0.5 ? 503 : 404) : 200
    const durationMs = Math.round(Math.exp(2.5 + random() * 2 + (incident ? 1.5 : 0)) * 100) / 100
    lines.push(requestCompleteLine({ at: new Date(atMs).toISOString(), status, durationMs }))
    if (random() < 0.02) lines.push(eventLine('auth_failure', new Date(atMs).toISOString()))
  }
  return logText(lines)
}

describe(
  'in a real browser: the analyzer’s HTML report opened from disk (CONTRACT §13)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let dir: string
    let session: BrowserSession
    let reportUrl: string

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lectern-report-browser-'))
      const file = join(dir, 'report.html')
      const discard = new Writable({ write: (_chunk, _encoding, done) => done() })
      const code = await analyzeLogsCommand(['--html', file], {
        stdin: Readable.from([Buffer.from(hourOfLogs())]),
        stdout: discard,
        stderr: discard,
        now: () => new Date('2026-11-23T12:00:00.000Z'),
        stderrIsTTY: false,
      })
      assert.equal(code, 1) // the incident's error rate fires the alert
      reportUrl = pathToFileURL(file).href
      session = await launchChromium()
    })

    after(async () => {
      await session?.close()
      await rm(dir, { recursive: true, force: true })
    })

    test('renders with no request beyond the file itself and no console error; screenshot saved', STEP, async () => {
      const { page, watch, context } = await openContext(session, 1100)
      const requested: string[] = []
      await context.route('**/*', async (route) => {
        requested.push(route.request().url())
        if (route.request().url() === reportUrl) await route.continue()
        else await route.abort()
      })
      await page.goto(reportUrl)
      assert.deepEqual(requested, [reportUrl])
      assert.deepEqual(watch.problems(), [])
      assert.equal(await page.locator('script').count(), 0)
      for (const id of ['chart-requests', 'chart-latency', 'chart-security', 'chart-distribution']) {
        const box = await page.locator(`#${id} svg`).boundingBox()
        assert.ok(box !== null && box.width > 500 && box.height > 150, `${id} is drawn: ${JSON.stringify(box)}`)
      }
      assert.ok((await page.locator('#chart-requests rect').count()) > 20)
      assert.match((await page.locator('#alerts').textContent()) ?? '', /ALERT error rate/)
      assert.equal(await page.locator('dt:text-is("Requests") + dd').textContent(), '3,000')
      await screenshot(page, 'analyzer-report')
      await context.close()
    })

    test('follows a dark colour scheme, and prints light', STEP, async () => {
      const { page, watch, context } = await openContext(session, 1100)
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
      await page.emulateMedia({ colorScheme: 'light' })
      await page.goto(reportUrl)
      assert.equal(await background(), 'rgb(255, 255, 255)')
      await page.emulateMedia({ colorScheme: 'dark' })
      assert.equal(await background(), 'rgb(18, 21, 25)')
      await screenshot(page, 'analyzer-report-dark')
      await page.emulateMedia({ colorScheme: 'dark', media: 'print' })
      assert.equal(await background(), 'rgb(255, 255, 255)')
      assert.deepEqual(watch.problems(), [])
      await context.close()
    })
  },
)
