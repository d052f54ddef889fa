/**
 * A class imported with `import-users` sets its passwords through the mailed links, usually in
 * the same lesson, behind one school address. RATE_LIMIT_PASSWORD_RESET counts per client IP
 * (5 an hour by default), so the sixth pupil used to get 429 for an hour. A link that works is
 * not a guess: like an invitation that works (CONTRACT §5), it is not counted; wrong tokens
 * still are.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { MailMessage, Mailer } from '../../src/mail/index.ts'
import { siteFrom } from '../../src/mail/index.ts'
import { createImportUsersService } from '../../src/modules/accounts/import-users.service.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createPageClient, formToken } from './pages-support.ts'

const PUBLIC_URL = 'https://learn.example.org'
const NEW_PASSWORD = 'a passphrase of my own choosing'
const CLASS_SIZE = 30

describe('a class setting its passwords through the import links, behind one address (CONTRACT §15, §10)', () => {
  let t: TestApp
  const mails: MailMessage[] = []
  const mailer: Mailer = { send: (message) => void mails.push(message), close: async () => {} }

  before(async () => {
    // The default RATE_LIMIT_PASSWORD_RESET (5/1h): the limit a real school meets.
    t = await buildTestApp({ env: { PUBLIC_URL }, deps: { mailer } })
  })
  after(() => t.close())

  async function importClass(prefix: string): Promise<string[]> {
    const imports = createImportUsersService({ db: t.database.db, mailer, site: siteFrom(PUBLIC_URL), clock: t.clock })
    const rows = Array.from({ length: CLASS_SIZE }, (_, i) => `${prefix}${i + 1},${prefix}${i + 1}@school.example`)
    const before = mails.length
    const outcome = await imports.importCsv(Buffer.from(`username,email\r\n${rows.join('\r\n')}\r\n`))
    assert.ok(outcome.ok, JSON.stringify(outcome))
    return mails.slice(before).map((mail) => (mail.data as { token: string }).token)
  }

  test('30 pupils at once through the API: every one sets a password; then wrong tokens are still limited', async () => {
    const tokens = await importClass('api')
    const answers = await Promise.all(
      tokens.map((token) =>
        createAgent(t).post('/api/password/reset', { json: { token, new_password: NEW_PASSWORD } }),
      ),
    )
    assert.deepEqual(
      answers.map((res) => res.statusCode),
      tokens.map(() => 204),
    )
    // The pupils' resets left the address its whole allowance: 5 wrong tokens are checked, the 6th is 429.
    const guesser = createAgent(t)
    const guesses = []
    for (let i = 0; i < 6; i++) {
      guesses.push(
        (await guesser.post('/api/password/reset', { json: { token: `guess${i}`, new_password: NEW_PASSWORD } }))
          .statusCode,
      )
    }
    assert.deepEqual(guesses, [400, 400, 400, 400, 400, 429])
    // A working link still gets through the full counter; a used one is a guess like any other.
    const [late] = await importClass('late')
    assert.equal(
      (await guesser.post('/api/password/reset', { json: { token: late, new_password: NEW_PASSWORD } })).statusCode,
      204,
    )
    assert.equal(
      (await guesser.post('/api/password/reset', { json: { token: late, new_password: NEW_PASSWORD } })).statusCode,
      429,
    )
  })

  test('the same through the /reset-password/<token> form', async () => {
    t.clock.advance(60 * 60 * 1000)
    const tokens = await importClass('form')
    const statuses = await Promise.all(
      tokens.map(async (token) => {
        const browser = createPageClient(t.app)
        await browser.open(`/reset-password/${token}`)
        const res = await browser.agent.post(`/reset-password/${token}`, {
          form: { password: NEW_PASSWORD },
          csrf: formToken(browser.html),
          csrfIn: 'field',
        })
        return res.statusCode
      }),
    )
    assert.deepEqual(
      statuses,
      tokens.map(() => 303),
    )
  })
})
