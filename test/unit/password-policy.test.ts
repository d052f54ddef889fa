import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  characterCount,
  commonPasswordSet,
  COMMON_PASSWORDS_FILE,
  createPasswordPolicy,
  loadCommonPasswords,
} from '../../src/security/password-policy.ts'

const context = { username: 'Ada.Lovelace', email: 'ada@example.org' }

describe('password policy', () => {
  const policy = createPasswordPolicy({ commonPasswords: loadCommonPasswords() })

  test('the shipped list loads, lower-cased, with the classics on it', () => {
    const set = loadCommonPasswords()
    assert.ok(set.size >= 500, `only ${set.size} entries`)
    for (const word of ['password', '12345678', 'qwertyuiop', 'iloveyou', 'password1', 'letmein1']) {
      assert.ok(set.has(word), word)
    }
    for (const word of set) assert.equal(word, word.toLowerCase())
    const lines = readFileSync(COMMON_PASSWORDS_FILE, 'utf8').split('\n')
    assert.ok(
      lines.some((line) => line.startsWith('#')),
      'the file explains itself',
    )
    assert.ok(!set.has(''), 'comments and blank lines are skipped')
  })

  test('common passwords are refused whatever their case', () => {
    for (const password of ['password', 'PASSWORD', 'PassWord1', '12345678', 'qwertyuiop', 'Iloveyou']) {
      assert.equal(policy.problem(password, context), 'Password is too common; choose another', password)
    }
  })

  test('the username or the email as the password is refused, ignoring case', () => {
    assert.equal(policy.problem('ada.lovelace', context), 'Password must not be the same as the username')
    assert.equal(policy.problem('ADA@EXAMPLE.ORG', context), 'Password must not be the same as the email address')
  })

  test('one character repeated is refused', () => {
    assert.equal(policy.problem('zzzzzzzzzzzz', context), 'Password must not be one character repeated')
  })

  test('length is counted in characters: 8 to 256, emoji count once', () => {
    assert.match(String(policy.problem('short12', context)), /at least 8/)
    assert.equal(policy.problem('k7#mQ2vx', context), null)
    assert.equal(policy.problem('🔑🔒🗝️🚪🛡️⚔️🏰🐉', context), null)
    assert.equal(characterCount('🔑🔒'), 2)
    assert.equal(policy.problem('a1'.repeat(128), context), null)
    assert.match(String(policy.problem(`${'a1'.repeat(128)}b`, context)), /at most 256/)
  })

  test('a long, uncommon passphrase passes', () => {
    assert.equal(policy.problem('correct horse battery staple', context), null)
  })

  test('any list can be supplied (a packaged one, say)', () => {
    const custom = createPasswordPolicy({ commonPasswords: commonPasswordSet(['# comment', '', 'Hunter22Hunter22']) })
    assert.equal(custom.problem('hunter22hunter22', context), 'Password is too common; choose another')
    assert.equal(custom.problem('password', context), null)
  })
})
