/**
 * CONTRACT §16: GET /api/admin/doctor (admin) → the readiness report of the running server, the
 * same JSON as `bin/lectern doctor --json` without the CLI-only "configuration"; /admin shows it
 * to admins in a Readiness panel.
 */
import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
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

  test('/admin/readiness: admins see the Readiness panel with each finding, never cached; /admin links to it; instructors see neither', async () => {
    withoutSecondFactor = [admin.username]
    const browser = createPageClient(t.app)
    await browser.open('/login')
    assert.equal(
      (await browser.submit('/login', { username: admin.username, password: admin.password })).statusCode,
      303,
    )
    const overview = await browser.open('/admin')
    assert.equal(overview.statusCode, 200)
    assert.match(overview.body, /<h2 id="readiness-heading">Readiness<\/h2>/)
    assert.match(overview.body, /<a href="\/admin\/readiness">/)
    const page = await browser.open('/admin/readiness')
    assert.equal(page.statusCode, 200)
    assert.equal(page.headers['cache-control'], 'no-store')
    assert.match(page.body, /<h1>Readiness<\/h1>/)
    assert.match(page.body, /<th scope="row">admin-two-factor<\/th>\s*<td><span class="badge">WARN<\/span><\/td>/)
    assert.match(page.body, /<th scope="row">database<\/th>\s*<td><span class="badge badge--done">OK<\/span><\/td>/)
    assert.ok(!page.body.includes(METRICS_TOKEN))

    const staff = createPageClient(t.app)
    await staff.open('/login')
    await staff.submit('/login', { username: instructor.username, password: instructor.password })
    const catalogueOnly = await staff.open('/admin')
    assert.equal(catalogueOnly.statusCode, 200)
    assert.doesNotMatch(catalogueOnly.body, /readiness/)
    assert.equal((await staff.open('/admin/readiness')).statusCode, 403)
  })
})

describe('/admin does not wait on the readiness checks (an SMTP relay that is down)', () => {
  let t: TestApp
  let relay: Server
  let connections = 0
  const sockets = new Set<Socket>()

  before(async () => {
    // A relay that takes the connection and says nothing: the SMTP check waits out its timeouts.
    relay = createServer((socket) => {
      connections++
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
    const { port } = relay.address() as AddressInfo
    t = await buildTestApp({
      env: { RATE_LIMIT_REGISTER: '100/1h', RATE_LIMIT_LOGIN: '100/15m', SMTP_URL: `smtp://127.0.0.1:${port}` },
      // Mail goes nowhere: every connection the relay sees is a readiness check's.
      deps: { mailer: { send: () => {}, close: async () => {} } },
    })
  })
  after(async () => {
    await t.close()
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => relay.close(() => resolve()))
  })

  test('loading /admin runs no check: the relay is never contacted, and the page links to /admin/readiness', async () => {
    const admin = await signedIn(t, 'admin', 'root')
    const browser = createPageClient(t.app)
    await browser.open('/login')
    await browser.submit('/login', { username: admin.username, password: admin.password })
    const before = connections
    const page = await browser.open('/admin')
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /<a href="\/admin\/readiness">/)
    assert.equal(connections, before)
    assert.doesNotMatch(page.body, /<th scope="row">smtp<\/th>/)
  })

  test('ten admins asking at once share one run of the checks: the relay sees one connection, each gets the FAIL', async () => {
    const admin = await signedIn(t, 'admin')
    const before = connections
    const answers = await Promise.all(Array.from({ length: 10 }, () => admin.agent.get('/api/admin/doctor')))
    for (const res of answers) {
      assert.equal(res.statusCode, 200)
      const smtp = (res.json() as { findings: Array<{ check: string; level: string }> }).findings.find(
        (finding) => finding.check === 'smtp',
      )
      assert.equal(smtp?.level, 'FAIL')
    }
    assert.equal(connections - before, 1)
  })
})
