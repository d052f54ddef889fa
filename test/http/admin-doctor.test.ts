/**
 * CONTRACT §16: GET /api/admin/doctor (admin) → the readiness report of the running server, the
 * same JSON as `bin/lectern doctor --json` without the CLI-only "configuration"; /admin shows it
 * to admins in a Readiness panel.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { signedIn, type SignedInUser } from '../support/factories.ts'
import { createPageClient } from './pages-support.ts'
import { CHECKS } from '../../src/operations/doctor/checks/index.ts'

const METRICS_TOKEN = 'metrics-token-that-must-not-appear-0123'

describe('GET /api/admin/doctor and the Readiness panel (CONTRACT §16)', () => {
  let t: TestApp
  let admin: SignedInUser
  let instructor: SignedInUser
  let learner: SignedInUser
  let withoutSecondFactor: string[] = []

  before(async () => {
    t = await buildTestApp({
      env: { RATE_LIMIT_REGISTER: '100/1h', RATE_LIMIT_LOGIN: '100/15m', METRICS_TOKEN },
      deps: { adminsWithoutSecondFactor: async () => withoutSecondFactor },
    })
    admin = await signedIn(t, 'admin', 'root')
    instructor = await signedIn(t, 'instructor')
    learner = await signedIn(t, 'learner')
  })
  after(() => t.close())

  test('signed out 401, a learner or an instructor 403', async () => {
    assert.equal((await createAgent(t).get('/api/admin/doctor')).statusCode, 401)
    assert.equal((await learner.agent.get('/api/admin/doctor')).statusCode, 403)
    assert.equal((await instructor.agent.get('/api/admin/doctor')).statusCode, 403)
  })

  test('an admin gets the report: every check a server can make, in order, the shape of --json, never cached', async () => {
    withoutSecondFactor = []
    const res = await admin.agent.get('/api/admin/doctor')
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['cache-control'], 'no-store')
    const report = res.json() as {
      findings: Array<{ check: string; level: string; message: string; fix: string | null }>
      summary: { ok: number; warn: number; fail: number }
    }
    const checks = [...new Set(report.findings.map((finding) => finding.check))]
    const serverChecks = CHECKS.filter((check) => check.scope === 'any').map((check) => check.name)
    assert.deepEqual(checks, serverChecks)
    assert.ok(!checks.includes('configuration'))
    const count = (level: string) => report.findings.filter((finding) => finding.level === level).length
    assert.deepEqual(report.summary, { ok: count('OK'), warn: count('WARN'), fail: count('FAIL') })
    assert.equal(report.findings.find((finding) => finding.check === 'admins')?.level, 'OK')
    assert.equal(report.findings.find((finding) => finding.check === 'admin-two-factor')?.level, 'OK')
    assert.ok(!res.body.includes(METRICS_TOKEN))
  })

  test('an admin without a second factor (the injected function) is a WARN naming them', async () => {
    withoutSecondFactor = [admin.username]
    const report = (await admin.agent.get('/api/admin/doctor')).json() as {
      findings: Array<{ check: string; level: string; message: string }>
    }
    const finding = report.findings.find((f) => f.check === 'admin-two-factor')!
    assert.equal(finding.level, 'WARN')
    assert.match(finding.message, new RegExp(admin.username))
  })

  test('/admin: admins see the Readiness panel with each finding; instructors do not', async () => {
    withoutSecondFactor = [admin.username]
    const browser = createPageClient(t.app)
    await browser.open('/login')
    assert.equal(
      (await browser.submit('/login', { username: admin.username, password: admin.password })).statusCode,
      303,
    )
    const page = await browser.open('/admin')
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /<h2 id="readiness-heading">Readiness<\/h2>/)
    assert.match(page.body, /<th scope="row">admin-two-factor<\/th>\s*<td><span class="badge">WARN<\/span><\/td>/)
    assert.match(page.body, /<th scope="row">database<\/th>\s*<td><span class="badge badge--done">OK<\/span><\/td>/)
    assert.ok(!page.body.includes(METRICS_TOKEN))

    const staff = createPageClient(t.app)
    await staff.open('/login')
    await staff.submit('/login', { username: instructor.username, password: instructor.password })
    const catalogueOnly = await staff.open('/admin')
    assert.equal(catalogueOnly.statusCode, 200)
    assert.doesNotMatch(catalogueOnly.body, /readiness-heading/)
  })
})
