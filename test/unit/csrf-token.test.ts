import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCsrfTokens, CSRF_TOKEN_LENGTH, CSRF_TOKEN_PATTERN } from '../../src/security/csrf/token.ts'
import { deriveKey, KEY_LABELS } from '../../src/security/sessions/keys.ts'
import { createManualClock } from '../../src/lib/clock.ts'

const SECRET = 'unit-test-secret-that-is-long-enough-0123456789'
const SESSION_A = 'a'.repeat(64)
const SESSION_B = 'b'.repeat(64)
const TTL_MS = 60 * 60 * 1000

function setup(ttlMs = TTL_MS) {
  const clock = createManualClock()
  const tokens = createCsrfTokens({ key: deriveKey(SECRET, KEY_LABELS.csrfToken), clock, ttlMs })
  return { clock, tokens }
}

/** The token with one byte of its decoded form changed, re-encoded canonically. */
function flipByte(token: string, index: number): string {
  const raw = Buffer.from(token, 'base64url')
  raw[index] = raw[index]! ^ 0x01
  return raw.toString('base64url')
}

describe('CSRF token (masked, session-bound, stateless)', () => {
  test('format: 75 characters of unpadded base64url (56 bytes: nonce, issued-at, MAC)', () => {
    const { tokens } = setup()
    const token = tokens.issue(SESSION_A)
    assert.equal(CSRF_TOKEN_LENGTH, 75)
    assert.equal(token.length, 75)
    assert.match(token, CSRF_TOKEN_PATTERN)
    assert.equal(Buffer.from(token, 'base64url').length, 56)
  })

  test('every token is a different string, even at the same instant for the same session', () => {
    const { tokens } = setup()
    const issued = new Set(Array.from({ length: 200 }, () => tokens.issue(SESSION_A)))
    assert.equal(issued.size, 200)
    for (const token of issued) assert.equal(tokens.verify(SESSION_A, token), 'valid')
  })

  test('bound to its session: another session id, or none, gets "invalid"', () => {
    const { tokens } = setup()
    const token = tokens.issue(SESSION_A)
    assert.equal(tokens.verify(SESSION_A, token), 'valid')
    assert.equal(tokens.verify(SESSION_B, token), 'invalid')
    assert.equal(tokens.verify(null, token), 'invalid')
  })

  test('a change to any byte (nonce, issued-at or MAC) makes it invalid', () => {
    const { tokens } = setup()
    const token = tokens.issue(SESSION_A)
    for (const index of [0, 15, 16, 23, 24, 40, 55]) {
      assert.equal(tokens.verify(SESSION_A, flipByte(token, index)), 'invalid', `byte ${index}`)
    }
  })

  test('one string per token: a non-canonical last character is invalid', () => {
    const { tokens } = setup()
    const token = tokens.issue(SESSION_A)
    // The 75th character carries 4 bits plus 2 spare ones; setting a spare bit decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(token.at(-1)!)
    const variant = token.slice(0, -1) + alphabet[last ^ 0x01]
    assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(token, 'base64url'))
    assert.equal(tokens.verify(SESSION_A, variant), 'invalid')
  })

  test('malformed input is invalid, never an exception', () => {
    const { tokens } = setup()
    const token = tokens.issue(SESSION_A)
    for (const bad of [
      undefined,
      null,
      42,
      ['x'],
      {},
      '',
      'x',
      token.slice(1),
      `${token}A`,
      `${token.slice(0, -1)}=`,
      `${token.slice(0, -1)}+`,
    ]) {
      assert.equal(tokens.verify(SESSION_A, bad), 'invalid', String(bad))
    }
  })

  test('valid until the TTL: 1 ms before it passes, at it is "expired"', () => {
    const { tokens, clock } = setup()
    const token = tokens.issue(SESSION_A)
    clock.advance(TTL_MS - 1)
    assert.equal(tokens.verify(SESSION_A, token), 'valid')
    clock.advance(1)
    assert.equal(tokens.verify(SESSION_A, token), 'expired')
  })

  test('"expired" is only said of a genuine token: an old forged one is "invalid"', () => {
    const { tokens, clock } = setup()
    const token = tokens.issue(SESSION_A)
    clock.advance(TTL_MS * 2)
    assert.equal(tokens.verify(SESSION_A, token), 'expired')
    assert.equal(tokens.verify(SESSION_A, flipByte(token, 40)), 'invalid')
    assert.equal(tokens.verify(SESSION_B, token), 'invalid')
  })

  test('the TTL is the configured one', () => {
    const { tokens, clock } = setup(10 * 60 * 1000)
    const token = tokens.issue(SESSION_A)
    clock.advance(10 * 60 * 1000 - 1)
    assert.equal(tokens.verify(SESSION_A, token), 'valid')
    clock.advance(1)
    assert.equal(tokens.verify(SESSION_A, token), 'expired')
  })

  test('a token made under another secret is invalid', () => {
    const { tokens, clock } = setup()
    const other = createCsrfTokens({
      key: deriveKey('another-secret-that-is-long-enough-0123456789', KEY_LABELS.csrfToken),
      clock,
      ttlMs: TTL_MS,
    })
    assert.equal(tokens.verify(SESSION_A, other.issue(SESSION_A)), 'invalid')
  })

  test('a short key is refused', () => {
    assert.throws(() => createCsrfTokens({ key: Buffer.alloc(16), clock: createManualClock(), ttlMs: TTL_MS }))
  })
})

describe('key derivation from SESSION_SECRET', () => {
  test('HKDF: 32 bytes, deterministic per secret and label, different per secret', () => {
    const key = deriveKey(SECRET, KEY_LABELS.csrfToken)
    assert.equal(key.length, 32)
    assert.deepEqual(deriveKey(SECRET, KEY_LABELS.csrfToken), key)
    assert.notDeepEqual(deriveKey(`${SECRET}x`, KEY_LABELS.csrfToken), key)
    assert.notDeepEqual(key, Buffer.from(SECRET).subarray(0, 32))
  })

  test('distinct labels give distinct keys', () => {
    const labels = Object.values(KEY_LABELS)
    assert.equal(new Set(labels).size, labels.length)
    const key = deriveKey(SECRET, KEY_LABELS.csrfToken)
    // A label that is not ours (cast): the same secret yields an unrelated key.
    assert.notDeepEqual(deriveKey(SECRET, 'lectern/other-use/v1' as typeof KEY_LABELS.csrfToken), key)
  })
})
