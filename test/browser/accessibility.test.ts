import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { importContent } from '../http/pages-support.ts'
import { createAgent } from '../support/agent.ts'
import { ACCESSIBLE_PAGES, type Persona } from './accessibility-pages.ts'
import {
  chromiumMissing,
  launchChromium,
  openContext,
  PASSWORD,
  signedInContext,
  startLiveApp,
  SUITE_TIMEOUT_MS,
  type BrowserSession,
  type LiveApp,
} from './harness.ts'

/** axe-core's own build, evaluated in the page through the DevTools protocol (the page's CSP does not apply to it). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
/** What fails the run: the impacts axe calls serious or critical. */
const FAILING_IMPACTS = new Set(['serious', 'critical'])

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/** The serious and critical violations of the page as it is now, one line each. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Violation[] }> } }
    ).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map(({ id, impact, help, nodes }) => ({
      id,
      impact,
      help,
      nodes: nodes.map((n) => ({ target: n.target })),
    }))
  })
  return violations
    .filter((v) => v.impact !== null && FAILING_IMPACTS.has(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`)
}

describe(
  'accessibility: axe-core over every page, signed out and as each role (no serious or critical violation)',
  { skip: chromiumMissing() ?? false, timeout: SUITE_TIMEOUT_MS },
  () => {
    let live: LiveApp
    let session: BrowserSession
    const ids: Partial<Record<Persona, number>> = {}

    before(async () => {
      live = await startLiveApp({
        env: { RATE_LIMIT_REGISTER: '100/1h', RATE_LIMIT_LOGIN: '100/15m' },
        routes: (app) => {
          // Only to show the 500 page: a page whose handler fails.
          app.get('/test/broken-page', { config: { access: 'public', html: true } }, async () => {
            throw new Error('the disk is on fire')
          })
        },
      })
      await importContent(live.t)
      for (const role of ['learner', 'instructor', 'admin'] as const) {
        const api = createAgent(live.t.app)
        const res = await api.post('/api/register', {
          json: { username: role, email: `${role}@example.com`, password: PASSWORD },
        })
        ids[role] = (res.json() as { user: { id: number } }).user.id
        await live.t.database.db.updateTable('users').set({ role }).where('username', '=', role).execute()
        // Some progress, so My learning and the reader show their full state.
        await api.post('/api/courses/web-fundamentals/lessons/1/complete')
        await api.put('/api/ebooks/http-in-brief/progress', { json: { chapter: 2, position: 0.3 } })
      }
      // The instructor owns the demo works (CONTRACT §12): the editor and the learners report are theirs.
      const admin = createAgent(live.t.app)
      await admin.post('/api/login', { json: { username: 'admin', password: PASSWORD } })
      for (const work of ['courses/web-fundamentals', 'ebooks/http-in-brief']) {
        const res = await admin.patch(`/api/${work}`, { json: { owners: ['instructor'] } })
        assert.equal(res.statusCode, 200, `owners of ${work}`)
      }
      session = await launchChromium()
    })

    after(async () => {
      await session?.close()
      await live?.t.close()
    })

    test('pages a form leads to: the import result (problems, then links) and the editor preview', async () => {
      const admin = await signedInContext(session, live, 'admin')
      const { page } = admin
      const found: string[] = []
      const upload = async (csv: string, button: string) => {
        await page.goto(`${live.baseUrl}/admin`)
        await page.setInputFiles('#import-accounts', {
          name: 'class.csv',
          mimeType: 'text/csv',
          buffer: Buffer.from(csv),
        })
        await Promise.all([page.waitForNavigation(), page.click(`text=${button}`)])
        for (const line of await axeViolations(page)) found.push(`import result: ${line}`)
      }
      await upload('username,email\nx,not-an-address\n', 'Create the accounts')
      assert.match((await page.textContent('main')) ?? '', /line 2: invalid username/)
      await upload('username,email\npupil1,pupil1@example.com\n', 'Create them and show their links')
      assert.match((await page.textContent('main')) ?? '', /1 account was created/)
      await page.goto(`${live.baseUrl}/admin/courses/web-fundamentals/parts/2`)
      await page.fill('#field-body', '# Title\n\n<script>x()</script>\n\n```\n' + 'wide '.repeat(100) + '\n```')
      await Promise.all([page.waitForNavigation(), page.click('button[value="preview"]')])
      assert.match((await page.textContent('main')) ?? '', /The sanitizer removed/)
      for (const line of await axeViolations(page)) found.push(`editor preview: ${line}`)
      assert.deepEqual(found, [])
      assert.deepEqual(admin.watch.problems(), [])
      await admin.context.close()
    })

    test('at 390 px, as a learner: the lesson and the chapter with their code blocks', async () => {
      const learner = await signedInContext(session, live, 'learner', 390)
      const found: string[] = []
      for (const path of ['/courses/web-fundamentals/lessons/2', '/ebooks/http-in-brief/chapters/2', '/me', '/']) {
        await learner.page.goto(`${live.baseUrl}${path}`)
        for (const line of await axeViolations(learner.page)) found.push(`${path}: ${line}`)
      }
      assert.deepEqual(found, [])
      await learner.context.close()
    })

    for (const persona of ['visitor', 'learner', 'instructor', 'admin'] as const) {
      const pages = ACCESSIBLE_PAGES.filter((entry) => entry.as === persona)
      test(`as ${persona === 'visitor' ? 'a visitor' : `${persona === 'admin' || persona === 'instructor' ? 'an' : 'a'} ${persona}`}: ${pages.length} pages`, async () => {
        const opened =
          persona === 'visitor' ? await openContext(session) : await signedInContext(session, live, persona)
        const found: string[] = []
        for (const entry of pages) {
          const path = entry.path.replace(/:(learner|instructor|admin)\b/g, (_, who: Persona) => String(ids[who]))
          const res = await opened.page.goto(`${live.baseUrl}${path}`)
          assert.equal(res?.status(), entry.status ?? 200, `${path} as ${persona}`)
          for (const line of await axeViolations(opened.page)) found.push(`${path}: ${line}`)
        }
        assert.deepEqual(found, [])
        await opened.context.close()
      })
    }
  },
)
