import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  ConfigError,
  loadConfig,
  MAX_SUPPORT_CONTACT_CHARS,
  parseDuration,
  parseLimit,
  parseTrustProxy,
} from '../../src/config/index.ts'
import { ensureSessionSecret, SECRET_FILE_NAME } from '../../src/config/secret.ts'

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/srv/lectern')
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`)
    return error
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`)
}

describe('loadConfig (CONTRACT §2)', () => {
  test('defaults match the contract', () => {
    const config = loadConfig({}, '/srv/lectern')
    assert.equal(config.port, 3000)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.dataDir, '/srv/lectern/data')
    assert.equal(config.databaseUrl, null)
    assert.equal(config.redisUrl, null)
    assert.equal(config.sessionSecret, null)
    assert.equal(config.trustProxy, false)
    assert.equal(config.cookieSecure, 'auto')
    assert.equal(config.logLevel, 'info')
    assert.equal(config.logFile, null)
    assert.equal(config.logRetentionDays, 14)
    assert.equal(config.csrfTokenTtlMs, 3_600_000)
    assert.deepEqual(config.rateLimits.login, { points: 5, windowMs: 15 * 60_000 })
    assert.deepEqual(config.rateLimits.loginUser, { points: 10, windowMs: 15 * 60_000 })
    assert.deepEqual(config.rateLimits.register, { points: 5, windowMs: 3_600_000 })
    assert.deepEqual(config.rateLimits.avatar, { points: 10, windowMs: 3_600_000 })
    assert.equal(config.maxUploadBytes, 5_242_880)
    assert.equal(config.maxImageWidth, 4096)
    assert.equal(config.maxImageHeight, 4096)
    assert.equal(config.auditRetentionDays, 365)
  })

  test('the result is frozen, nested objects included', () => {
    const config = loadConfig({})
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.rateLimits))
    assert.throws(() => {
      ;(config as { port: number }).port = 1
    }, TypeError)
  })

  test('values from the environment are used', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        HOST: '0.0.0.0',
        DATA_DIR: '/var/lib/lectern',
        DATABASE_URL: 'postgres://u@db/lectern',
        REDIS_URL: 'redis://cache:6379',
        SESSION_SECRET: 'x'.repeat(32),
        TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
        COOKIE_SECURE: 'true',
        LOG_LEVEL: 'warning',
        LOG_FILE: 'logs/lectern.log',
        CSRF_TOKEN_TTL: '90s',
        RATE_LIMIT_LOGIN: '3/1m',
        MAX_UPLOAD_BYTES: '1048576',
        MAX_IMAGE_WIDTH: '2048',
      },
      '/srv',
    )
    assert.equal(config.port, 8080)
    assert.equal(config.dataDir, '/var/lib/lectern')
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '127.0.0.1'])
    assert.equal(config.logFile, '/srv/logs/lectern.log')
    assert.equal(config.csrfTokenTtlMs, 90_000)
    assert.deepEqual(config.rateLimits.login, { points: 3, windowMs: 60_000 })
    assert.equal(config.maxImageWidth, 2048)
  })

  const invalid: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: 'eighty' }],
    ['RATE_LIMIT_LOGIN', { RATE_LIMIT_LOGIN: 'five' }],
    ['RATE_LIMIT_LOGIN', { RATE_LIMIT_LOGIN: '0/15m' }],
    ['RATE_LIMIT_REGISTER', { RATE_LIMIT_REGISTER: '5/15x' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'banana' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
    ['SESSION_SECRET', { SESSION_SECRET: 'too-short' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/x' }],
    ['REDIS_URL', { REDIS_URL: 'not a url' }],
    ['COOKIE_SECURE', { COOKIE_SECURE: 'sometimes' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['CSRF_TOKEN_TTL', { CSRF_TOKEN_TTL: '0' }],
    ['MAX_UPLOAD_BYTES', { MAX_UPLOAD_BYTES: '-1' }],
    ['MAX_IMAGE_HEIGHT', { MAX_IMAGE_HEIGHT: '4096.5' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'learn.example.org' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://learn.example.org' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://learn.example.org/?next=1' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://learn.example.org/#top' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://learn.example.org?' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://admin:pw@learn.example.org' }],
    ['SMTP_URL', { SMTP_URL: 'relay.example.org:587' }],
    ['SMTP_URL', { SMTP_URL: 'http://relay.example.org' }],
    ['SMTP_URL', { SMTP_URL: 'smtp://relay.example.org:587/inbox' }],
    ['SMTP_URL', { SMTP_URL: 'smtp://relay.example.org:587?pool=true' }],
    ['SMTP_URL', { SMTP_URL: 'smtp://relay.example.org:99999' }],
    ['MAIL_FROM', { MAIL_FROM: 'not an address' }],
    ['MAIL_FROM', { MAIL_FROM: 'Lectern <no-reply>' }],
    ['MAIL_FROM', { MAIL_FROM: 'Lectern <a@example.org>\r\nBcc: victim@example.org' }],
    ['MAIL_FROM', { MAIL_FROM: 'Lec<tern <a@example.org>' }],
    ['PASSWORD_RESET_TTL', { PASSWORD_RESET_TTL: 'soon' }],
    ['RATE_LIMIT_PASSWORD_RESET', { RATE_LIMIT_PASSWORD_RESET: '5' }],
    ['RATE_LIMIT_QUIZ', { RATE_LIMIT_QUIZ: '30 an hour' }],
    ['REQUIRE_EMAIL_VERIFICATION', { REQUIRE_EMAIL_VERIFICATION: 'yes please' }],
    ['AUDIT_RETENTION_DAYS', { AUDIT_RETENTION_DAYS: '0' }],
    ['AUDIT_RETENTION_DAYS', { AUDIT_RETENTION_DAYS: '36501' }],
    ['AUDIT_RETENTION_DAYS', { AUDIT_RETENTION_DAYS: '90d' }],
    ['AUDIT_RETENTION_DAYS', { AUDIT_RETENTION_DAYS: '-5' }],
    ['REGISTRATION', { REGISTRATION: 'invitation' }],
    ['REGISTRATION', { REGISTRATION: 'open,invite' }],
  ]
  for (const [variable, env] of invalid) {
    test(`${JSON.stringify(env)} is refused with a message naming ${variable}`, () => {
      const error = configError(env)
      assert.equal(error.variable, variable)
      assert.match(error.message, new RegExp(`^${variable}: `))
    })
  }
})

describe('mail settings (CONTRACT §2, §10)', () => {
  test('defaults: links from HOST and PORT, the outbox, Lectern as the sender, verification off', () => {
    const config = loadConfig({}, '/srv/lectern')
    assert.equal(config.publicUrl, 'http://127.0.0.1:3000')
    assert.equal(config.smtp, null)
    assert.deepEqual(config.mailFrom, { name: 'Lectern', address: 'no-reply@localhost' })
    assert.equal(config.passwordResetTtlMs, 30 * 60_000)
    assert.deepEqual(config.rateLimits.passwordReset, { points: 5, windowMs: 3_600_000 })
    assert.equal(config.requireEmailVerification, false)
    assert.ok(Object.isFrozen(config.mailFrom))
  })

  test('PUBLIC_URL unset follows HOST and PORT, an IPv6 host in brackets', () => {
    assert.equal(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }).publicUrl, 'http://0.0.0.0:8080')
    assert.equal(loadConfig({ HOST: '::1', PORT: '8080' }).publicUrl, 'http://[::1]:8080')
  })

  test('PUBLIC_URL set or not is kept apart from its value, for doctor (CONTRACT §16)', () => {
    assert.equal(loadConfig({}).publicUrlConfigured, false)
    assert.equal(loadConfig({ PUBLIC_URL: '  ' }).publicUrlConfigured, false)
    assert.equal(loadConfig({ PUBLIC_URL: 'https://learn.example.org' }).publicUrlConfigured, true)
  })

  test('BACKUP_DIR: unset is null; a relative path is resolved against the working directory', () => {
    assert.equal(loadConfig({}).backupDir, null)
    assert.equal(loadConfig({ BACKUP_DIR: ' ' }).backupDir, null)
    assert.equal(loadConfig({ BACKUP_DIR: 'backups' }, '/srv/lectern').backupDir, '/srv/lectern/backups')
    assert.equal(loadConfig({ BACKUP_DIR: '/var/backups/lectern' }).backupDir, '/var/backups/lectern')
  })

  test('PUBLIC_URL loses its trailing slashes and keeps a path (a sub-folder behind a proxy)', () => {
    assert.equal(loadConfig({ PUBLIC_URL: 'https://learn.example.org/' }).publicUrl, 'https://learn.example.org')
    assert.equal(loadConfig({ PUBLIC_URL: 'https://learn.example.org' }).publicUrl, 'https://learn.example.org')
    assert.equal(
      loadConfig({ PUBLIC_URL: ' https://Example.ORG:8443/lectern// ' }).publicUrl,
      'https://example.org:8443/lectern',
    )
    assert.equal(loadConfig({ PUBLIC_URL: 'http://example.org:80/' }).publicUrl, 'http://example.org')
  })

  test('SMTP_URL: smtp:// (STARTTLS when offered) or smtps://, credentials percent-decoded, default ports', () => {
    assert.deepEqual(
      loadConfig({ SMTP_URL: 'smtp://mailer%40example.org:p%40ss%3Aw0rd@relay.example.org:2525' }).smtp,
      {
        secure: false,
        host: 'relay.example.org',
        port: 2525,
        auth: { user: 'mailer@example.org', pass: 'p@ss:w0rd' },
      },
    )
    assert.deepEqual(loadConfig({ SMTP_URL: 'smtps://relay.example.org' }).smtp, {
      secure: true,
      host: 'relay.example.org',
      port: 465,
      auth: null,
    })
    assert.equal(loadConfig({ SMTP_URL: 'smtp://[::1]' }).smtp?.port, 587)
    assert.equal(loadConfig({ SMTP_URL: 'smtp://[::1]' }).smtp?.host, '::1')
  })

  test('an invalid SMTP_URL is refused without repeating its password', () => {
    const secret = 'Sup3r-Secret-Relay-Pw'
    for (const value of [
      `smtp://user:${secret}@relay.example.org:587/path`,
      `smtp://user:${secret}@relay.example.org:587?x=1`,
      `imap://user:${secret}@relay.example.org`,
      `smtp://user:${secret}@relay.example.org:99999`,
      `smtp://user:${secret}%zz@relay.example.org:587`,
      `smtp://:${secret}@relay.example.org:587`,
      `smtp://user:${secret}@`,
    ]) {
      const error = configError({ SMTP_URL: value })
      assert.equal(error.variable, 'SMTP_URL')
      assert.ok(!error.message.includes(secret), error.message)
      assert.ok(!String(error.stack).includes(secret))
    }
  })

  test('MAIL_FROM: a bare address or a display name, quoted or not', () => {
    assert.deepEqual(loadConfig({ MAIL_FROM: 'courses@example.org' }).mailFrom, {
      name: null,
      address: 'courses@example.org',
    })
    assert.deepEqual(loadConfig({ MAIL_FROM: '"Lectern, Example School" <courses@example.org>' }).mailFrom, {
      name: 'Lectern, Example School',
      address: 'courses@example.org',
    })
    assert.deepEqual(loadConfig({ MAIL_FROM: 'Example Courses <courses@mail.example.org>' }).mailFrom, {
      name: 'Example Courses',
      address: 'courses@mail.example.org',
    })
  })

  test('RATE_LIMIT_QUIZ is 30/1h unless set', () => {
    assert.deepEqual(loadConfig({}).rateLimits.quiz, { points: 30, windowMs: 3_600_000 })
    assert.deepEqual(loadConfig({ RATE_LIMIT_QUIZ: '5/15m' }).rateLimits.quiz, { points: 5, windowMs: 900_000 })
  })

  test('PASSWORD_RESET_TTL, RATE_LIMIT_PASSWORD_RESET and REQUIRE_EMAIL_VERIFICATION are read', () => {
    const config = loadConfig({ PASSWORD_RESET_TTL: '1h', RATE_LIMIT_PASSWORD_RESET: '3/15m' })
    assert.equal(config.passwordResetTtlMs, 3_600_000)
    assert.deepEqual(config.rateLimits.passwordReset, { points: 3, windowMs: 15 * 60_000 })
    assert.equal(config.requireEmailVerification, false)
    assert.equal(loadConfig({ REQUIRE_EMAIL_VERIFICATION: 'TRUE' }).requireEmailVerification, true)
    assert.throws(() => loadConfig({ REQUIRE_EMAIL_VERIFICATION: 'sometimes' }), /REQUIRE_EMAIL_VERIFICATION/)
  })
})

describe('REGISTRATION (CONTRACT §15)', () => {
  test('open by default (unset or blank); invite and closed are read', () => {
    assert.equal(loadConfig({}).registration, 'open')
    assert.equal(loadConfig({ REGISTRATION: '  ' }).registration, 'open')
    assert.equal(loadConfig({ REGISTRATION: 'invite' }).registration, 'invite')
    assert.equal(loadConfig({ REGISTRATION: 'closed' }).registration, 'closed')
  })
})

describe('parsers', () => {
  test('AUDIT_RETENTION_DAYS: 1 and 36500 days are read, both ends inclusive', () => {
    assert.equal(loadConfig({ AUDIT_RETENTION_DAYS: '1' }).auditRetentionDays, 1)
    assert.equal(loadConfig({ AUDIT_RETENTION_DAYS: '90' }).auditRetentionDays, 90)
    assert.equal(loadConfig({ AUDIT_RETENTION_DAYS: '36500' }).auditRetentionDays, 36_500)
  })

  test('SUPPORT_CONTACT: unset or blank is null; one line of up to 200 characters, trimmed; else refused', () => {
    assert.equal(loadConfig({}).supportContact, null)
    assert.equal(loadConfig({ SUPPORT_CONTACT: '   ' }).supportContact, null)
    assert.equal(
      loadConfig({ SUPPORT_CONTACT: ' Ms Okafor, it-help@school.example ' }).supportContact,
      'Ms Okafor, it-help@school.example',
    )
    const longest = 'é'.repeat(MAX_SUPPORT_CONTACT_CHARS)
    assert.equal(loadConfig({ SUPPORT_CONTACT: longest }).supportContact, longest)
    assert.equal(configError({ SUPPORT_CONTACT: `${longest}x` }).variable, 'SUPPORT_CONTACT')
    assert.match(configError({ SUPPORT_CONTACT: 'line one\nline two' }).message, /SUPPORT_CONTACT.*one line/)
    assert.equal(configError({ SUPPORT_CONTACT: 'help\u202edesk' }).variable, 'SUPPORT_CONTACT')
  })

  test('durations: 90s, 15m, 1h, 1d and bare seconds', () => {
    assert.equal(parseDuration('90s', 'X'), 90_000)
    assert.equal(parseDuration('15m', 'X'), 900_000)
    assert.equal(parseDuration('1h', 'X'), 3_600_000)
    assert.equal(parseDuration('1d', 'X'), 86_400_000)
    assert.equal(parseDuration('45', 'X'), 45_000)
    assert.throws(() => parseDuration('1w', 'X'), ConfigError)
    assert.throws(() => parseDuration('-5s', 'X'), ConfigError)
  })

  test('limits: COUNT/DURATION', () => {
    assert.deepEqual(parseLimit('5/15m', 'X'), { points: 5, windowMs: 900_000 })
    assert.deepEqual(parseLimit('100/60', 'X'), { points: 100, windowMs: 60_000 })
    assert.throws(() => parseLimit('5', 'X'), ConfigError)
    assert.throws(() => parseLimit('/15m', 'X'), ConfigError)
  })

  test('TRUST_PROXY: off, true, hop count, addresses and CIDRs', () => {
    assert.equal(parseTrustProxy(undefined), false)
    assert.equal(parseTrustProxy('false'), false)
    assert.equal(parseTrustProxy('true'), true)
    assert.equal(parseTrustProxy('2'), 2)
    assert.deepEqual(parseTrustProxy('127.0.0.1,::1,fd00::/8,loopback'), ['127.0.0.1', '::1', 'fd00::/8', 'loopback'])
    assert.throws(() => parseTrustProxy('10.0.0.300'), ConfigError)
    assert.throws(() => parseTrustProxy('::1/129'), ConfigError)
  })
})

describe('session secret', () => {
  test('generated once, kept with mode 0600, reused on the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-secret-'))
    try {
      const first = ensureSessionSecret(null, dir)
      const second = ensureSessionSecret(null, dir)
      assert.equal(first, second)
      assert.ok(Buffer.byteLength(first) >= 32)
      assert.equal(statSync(join(dir, SECRET_FILE_NAME)).mode & 0o777, 0o600)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a configured secret wins and nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-secret-'))
    try {
      assert.equal(ensureSessionSecret('s'.repeat(40), dir), 's'.repeat(40))
      assert.throws(() => readFileSync(join(dir, SECRET_FILE_NAME)))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a secret file readable by others is tightened; a short one is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-secret-'))
    const path = join(dir, SECRET_FILE_NAME)
    try {
      writeFileSync(path, 'k'.repeat(48))
      chmodSync(path, 0o644)
      ensureSessionSecret(null, dir)
      assert.equal(statSync(path).mode & 0o777, 0o600)
      writeFileSync(path, 'short')
      assert.throws(() => ensureSessionSecret(null, dir), ConfigError)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
