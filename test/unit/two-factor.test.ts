import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { REDACTED, redactSecrets } from '../../src/logging/redact.ts'
import {
  createRecoveryCodeHasher,
  newRecoveryCodes,
  normalizeRecoveryCode,
} from '../../src/modules/two-factor/recovery-codes.ts'
import { createSecretBox } from '../../src/modules/two-factor/secret-box.ts'
import { matchTotpCode, newTotpSecret, timeStepAt, totpCodeAt, totpIssuer } from '../../src/modules/two-factor/totp.ts'

const SECRET = 'a session secret that is long enough for the tests'
/** RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890". */
const RFC_SEED = new TextEncoder().encode('12345678901234567890')
/** Appendix B, SHA-1 column: time in seconds → the 8-digit TOTP. */
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
]

describe('TOTP (RFC 6238, SHA-1, 30 s)', () => {
  test('the test values of appendix B, 8 digits', async () => {
    for (const [seconds, expected] of RFC_VECTORS) {
      assert.equal(await totpCodeAt(RFC_SEED, seconds * 1000, 8), expected, `T = ${seconds}`)
    }
  })

  test('6 digits are the same computation truncated: the last 6 of the 8-digit values', async () => {
    for (const [seconds, expected] of RFC_VECTORS) {
      assert.equal(await totpCodeAt(RFC_SEED, seconds * 1000), expected.slice(-6), `T = ${seconds}`)
    }
  })

  test('a code matches within one step either way, returning its own step; two steps away it does not', async () => {
    const secret = newTotpSecret()
    const now = Date.UTC(2026, 0, 15, 12, 0, 10)
    for (const offset of [-1, 0, 1]) {
      const code = await totpCodeAt(secret, now + offset * 30_000)
      assert.equal(await matchTotpCode(secret, code, now), timeStepAt(now) + offset, `offset ${offset}`)
    }
    for (const offset of [-2, 2]) {
      assert.equal(await matchTotpCode(secret, await totpCodeAt(secret, now + offset * 30_000), now), null)
    }
  })

  test('a step at or before the last spent one is refused; malformed codes are no match, not an error', async () => {
    const secret = newTotpSecret()
    const now = Date.UTC(2026, 0, 15, 12, 0, 10)
    const code = await totpCodeAt(secret, now)
    assert.equal(await matchTotpCode(secret, code, now, timeStepAt(now)), null)
    assert.equal(await matchTotpCode(secret, code, now, timeStepAt(now) - 1), timeStepAt(now))
    for (const bad of ['', '12345', '1234567', 'abcdef', ' 123456', '１２３４５６']) {
      assert.equal(await matchTotpCode(secret, bad, now), null, JSON.stringify(bad))
    }
  })

  test('secrets are 160 random bits in base32; the issuer is the public host, or Lectern for an address', () => {
    const secret = newTotpSecret()
    assert.match(secret, /^[A-Z2-7]{32}$/)
    assert.notEqual(newTotpSecret(), secret)
    assert.equal(totpIssuer('https://learn.example.org'), 'learn.example.org')
    assert.equal(totpIssuer('http://127.0.0.1:3000'), 'Lectern')
    assert.equal(totpIssuer('http://[::1]:3000'), 'Lectern')
    assert.equal(totpIssuer('http://localhost:3000'), 'Lectern')
  })
})

describe('secret box (AES-256-GCM)', () => {
  test('opens what it sealed, for the same user; a fresh IV each time', () => {
    const box = createSecretBox(SECRET)
    const a = box.seal(7, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')
    const b = box.seal(7, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')
    assert.notEqual(a, b)
    assert.equal(box.open(7, a), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')
    assert.ok(!a.includes('JBSWY3DP'))
  })

  test('refuses another user, another key, and any altered byte', () => {
    const box = createSecretBox(SECRET)
    const sealed = box.seal(7, 'secret')
    assert.throws(() => box.open(8, sealed))
    assert.throws(() => createSecretBox(`${SECRET}!`).open(7, sealed))
    const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string]
    const flipped = Buffer.from(ciphertext, 'base64url')
    flipped[0] = flipped[0]! ^ 1
    assert.throws(() => box.open(7, [version, iv, flipped.toString('base64url'), tag].join('.')))
    assert.throws(() => box.open(7, 'v2.x.y.z'))
    assert.throws(() => box.open(7, 'not sealed'))
  })
})

describe('recovery codes', () => {
  test('ten distinct codes of three groups of four, 60 bits each', () => {
    const codes = newRecoveryCodes()
    assert.equal(codes.length, 10)
    assert.equal(new Set(codes).size, 10)
    for (const code of codes) assert.match(code, /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/)
  })

  test('typed back in any case, spacing or grouping, with O for 0 and I or L for 1, they read the same', () => {
    assert.equal(normalizeRecoveryCode('k7dm-4xq2-9fh0'), 'k7dm4xq29fh0')
    assert.equal(normalizeRecoveryCode(' K7DM 4XQ2 9FHO '), 'k7dm4xq29fh0')
    assert.equal(normalizeRecoveryCode('abc1-IL00-zzzz'), 'abc11100zzzz')
    assert.equal(normalizeRecoveryCode('k7dm-4xq2-9fh'), null)
    assert.equal(normalizeRecoveryCode('k7dm-4xq2-9fhu'), null, 'u is not in the alphabet')
    assert.equal(normalizeRecoveryCode('123456'), null)
  })

  test('stored as a keyed hash: the same code and key give the same hash, another key another', () => {
    const hash = createRecoveryCodeHasher(SECRET)
    assert.equal(hash('k7dm4xq29fh0'), hash('k7dm4xq29fh0'))
    assert.notEqual(hash('k7dm4xq29fh0'), createRecoveryCodeHasher(`${SECRET}!`)('k7dm4xq29fh0'))
    assert.match(hash('k7dm4xq29fh0'), /^[0-9a-f]{64}$/)
  })
})

describe('configuration', () => {
  test('RATE_LIMIT_2FA defaults to 5/15m; REQUIRE_2FA_FOR to none, and takes admin or staff in any case', () => {
    const config = loadConfig({})
    assert.deepEqual(config.rateLimits.twoFactor, { points: 5, windowMs: 15 * 60_000 })
    assert.equal(config.require2faFor, 'none')
    assert.equal(loadConfig({ REQUIRE_2FA_FOR: 'Staff' }).require2faFor, 'staff')
    assert.equal(loadConfig({ RATE_LIMIT_2FA: '3/1h' }).rateLimits.twoFactor.points, 3)
    assert.throws(() => loadConfig({ REQUIRE_2FA_FOR: 'instructors' }), /REQUIRE_2FA_FOR/)
    assert.throws(() => loadConfig({ RATE_LIMIT_2FA: 'lots' }), /RATE_LIMIT_2FA/)
  })
})

test('a careless extra never logs a code, the recovery codes or the otpauth link', () => {
  const extra = {
    code: '123456',
    recovery_codes: ['k7dm-4xq2-9fh0'],
    otpauth_url: 'otpauth://totp/x',
    totp_secret: 'X',
  }
  assert.deepEqual(redactSecrets(extra), {
    code: REDACTED,
    recovery_codes: REDACTED,
    otpauth_url: REDACTED,
    totp_secret: REDACTED,
  })
  assert.deepEqual(redactSecrets({ status_code: 401, method: 'totp', remaining: 9 }), {
    status_code: 401,
    method: 'totp',
    remaining: 9,
  })
})
