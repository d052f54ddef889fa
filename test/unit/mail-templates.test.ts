import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { renderMail, siteFrom, type MailKind, type TemplateData } from '../../src/mail/templates.ts'

const site = siteFrom(loadConfig({ PUBLIC_URL: 'https://example.org/lectern/' }).publicUrl)
const at = Date.UTC(2026, 0, 15, 12, 30)

const samples: { [K in MailKind]: TemplateData[K] } = {
  password_reset: { username: 'ann', token: 'r3set/tok+en', expiresAt: at },
  password_changed: { username: 'ann', changedAt: at },
  email_verification: { username: 'ann', token: 'v3rify', expiresAt: at },
  email_changed: { username: 'ann', changedAt: at },
  account_created: { username: 'ann', token: 'n3w', expiresAt: at },
  invitation: { token: 'inv1te', expiresAt: at, role: 'instructor', courseTitle: 'Intro to Rust' },
  passkey_added: { username: 'ann', addedAt: at },
  two_factor_enabled: { username: 'ann', changedAt: at },
  two_factor_disabled: { username: 'ann', changedAt: at },
}

describe('email templates (CONTRACT §10, §15)', () => {
  test('links are PUBLIC_URL (with its path) + the page + the token, escaped', () => {
    const link = (kind: MailKind) => /https?:\/\/\S+/g.exec(renderMail(site, kind, samples[kind] as never).text)?.[0]
    assert.equal(link('password_reset'), 'https://example.org/lectern/reset-password/r3set%2Ftok%2Ben')
    assert.equal(link('email_verification'), 'https://example.org/lectern/verify-email/v3rify')
    assert.equal(link('account_created'), 'https://example.org/lectern/reset-password/n3w')
    assert.equal(link('invitation'), 'https://example.org/lectern/invite/inv1te')
    assert.equal(link('password_changed'), 'https://example.org/lectern/forgot-password')
    assert.equal(link('passkey_added'), 'https://example.org/lectern/profile')
    assert.equal(link('two_factor_enabled'), 'https://example.org/lectern/profile')
    assert.equal(link('two_factor_disabled'), 'https://example.org/lectern/profile')
  })

  test('every template: a one-line subject naming the site, plain text, no link elsewhere than PUBLIC_URL', () => {
    for (const kind of Object.keys(samples) as MailKind[]) {
      const { subject, text } = renderMail(site, kind, samples[kind] as never)
      assert.ok(!/[\r\n]/.test(subject), kind)
      assert.ok(subject.includes('example.org'), `${kind}: ${subject}`)
      assert.ok(!/<[a-z]/i.test(text), `${kind} is plain text`)
      for (const url of text.match(/https?:\/\/\S+/g) ?? []) {
        assert.ok(url === 'https://example.org/lectern' || url.startsWith('https://example.org/lectern/'), url)
      }
    }
  })

  test('times are written in UTC; the invitation names the role and the course', () => {
    assert.match(renderMail(site, 'password_reset', samples.password_reset).text, /until 2026-01-15 12:30 UTC/)
    const invitation = renderMail(site, 'invitation', samples.invitation).text
    assert.match(invitation, /as an instructor, enrolled in "Intro to Rust"\./)
    const noCourse = renderMail(site, 'invitation', { ...samples.invitation, role: 'learner', courseTitle: null })
    assert.match(noCourse.text, /as a learner\./)
  })
})
