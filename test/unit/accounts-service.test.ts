import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DatabaseHandle } from '../../src/db/database.ts'
import { HttpError } from '../../src/http/errors.ts'
import { createManualClock } from '../../src/lib/clock.ts'
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts'
import {
  createAccountsService,
  normalizeText,
  type AccountsService,
} from '../../src/modules/accounts/accounts.service.ts'
import { createPasswordPolicy, loadCommonPasswords } from '../../src/security/password-policy.ts'
import {
  createPasswordHasher,
  decodeArgon2Hash,
  TEST_PASSWORD_PARAMS,
  type Argon2Params,
  type PasswordHasher,
} from '../../src/security/passwords.ts'
import { createTestDatabase } from '../support/database.ts'

/** A real (cheap) hasher that counts what it is asked to do. */
function countingHasher(params: Argon2Params = TEST_PASSWORD_PARAMS) {
  const inner = createPasswordHasher({ params, maxConcurrent: 2 })
  const calls = { hash: 0, verify: 0, verifyDummy: 0 }
  const hasher: PasswordHasher = {
    ...inner,
    hash: (password) => (calls.hash++, inner.hash(password)),
    verify: (stored, password) => (calls.verify++, inner.verify(stored, password)),
    verifyDummy: (password) => (calls.verifyDummy++, inner.verifyDummy(password)),
  }
  const reset = () => Object.assign(calls, { hash: 0, verify: 0, verifyDummy: 0 })
  return { hasher, calls, reset }
}

const PASSWORD = 'correct horse battery staple'

function httpStatus(status: number, message?: string | RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof HttpError, String(error))
    assert.equal(error.statusCode, status)
    if (typeof message === 'string') assert.equal(error.publicMessage, message)
    else if (message) assert.match(error.publicMessage, message)
    return true
  }
}

describe('accounts service', () => {
  let database: DatabaseHandle
  const clock = createManualClock()
  const counting = countingHasher()
  let service: AccountsService
  const make = (passwords: PasswordHasher) =>
    createAccountsService({
      repository: createAccountsRepository(database.db),
      passwords,
      policy: createPasswordPolicy({ commonPasswords: loadCommonPasswords() }),
      clock,
    })

  before(async () => {
    database = await createTestDatabase('sqlite')
    service = make(counting.hasher)
  })
  after(() => database.close())

  test('register stores an argon2id hash, never the password, and refuses common or self-named passwords', async () => {
    const user = await service.register({ username: 'Ada', email: 'ada@example.org', password: PASSWORD })
    assert.equal(user.username, 'Ada')
    assert.equal(user.created_at, clock.now())
    const row = await database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow()
    assert.equal(decodeArgon2Hash(row.password_hash)?.algorithm, 'argon2id')
    assert.ok(!row.password_hash.includes(PASSWORD))
    await assert.rejects(
      service.register({ username: 'bob', email: 'bob@example.org', password: 'Password1' }),
      httpStatus(400, 'Password is too common; choose another'),
    )
    await assert.rejects(
      service.register({ username: 'bobby.tables', email: 'bob@example.org', password: 'Bobby.Tables' }),
      httpStatus(400, /username/),
    )
  })

  test('a taken username or email is a 409 before any key derivation', async () => {
    counting.reset()
    await assert.rejects(
      service.register({ username: 'ADA', email: 'other@example.org', password: PASSWORD }),
      httpStatus(409, 'Username already taken'),
    )
    await assert.rejects(
      service.register({ username: 'someone', email: 'ADA@example.org', password: PASSWORD }),
      httpStatus(409, 'Email address already registered'),
    )
    assert.equal(counting.calls.hash, 0)
  })

  test('unknown user and wrong password cost the same work: one verification each', async () => {
    counting.reset()
    const unknown = await service.login('nobody', PASSWORD)
    assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 1 })
    assert.equal(unknown.status, 'invalid_credentials')
    counting.reset()
    const wrong = await service.login('ada', 'not the password at all')
    assert.deepEqual(counting.calls, { hash: 0, verify: 1, verifyDummy: 0 })
    assert.equal(wrong.status, 'invalid_credentials')
    assert.deepEqual(
      [
        unknown.status === 'invalid_credentials' && unknown.reason,
        wrong.status === 'invalid_credentials' && wrong.reason,
      ],
      ['unknown_user', 'wrong_password'],
    )
    assert.equal(unknown.usernameKey, 'nobody')
    assert.equal((await service.login('ADA', 'nope')).usernameKey, 'ada', 'one counter per name whatever its case')
  })

  test('login matches the username in any case and returns the user without its hash', async () => {
    const outcome = await service.login('aDa', PASSWORD)
    assert.equal(outcome.status, 'success')
    assert.ok(outcome.status === 'success' && !('password_hash' in outcome.user))
  })

  test('a disabled account says so only to someone who knows its password', async () => {
    const user = await service.register({ username: 'dormant', email: 'dormant@example.org', password: PASSWORD })
    await database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute()
    assert.equal((await service.login('dormant', 'a wrong guess here')).status, 'invalid_credentials')
    assert.deepEqual(await service.login('dormant', PASSWORD), {
      status: 'disabled',
      usernameKey: 'dormant',
      userId: user.id,
    })
  })

  test('a login with outdated parameters stores a new hash with the current ones, once', async () => {
    const old = createPasswordHasher({ params: { memoryKiB: 32, iterations: 1, parallelism: 1 } })
    const user = await make(old).register({ username: 'veteran', email: 'veteran@example.org', password: PASSWORD })
    const storedHash = async () =>
      (
        await database.db
          .selectFrom('users')
          .select('password_hash')
          .where('id', '=', user.id)
          .executeTakeFirstOrThrow()
      ).password_hash
    assert.equal(decodeArgon2Hash(await storedHash())?.memoryKiB, 32)
    counting.reset()
    assert.equal((await service.login('veteran', PASSWORD)).status, 'success')
    assert.equal(counting.calls.hash, 1)
    assert.equal(decodeArgon2Hash(await storedHash())?.memoryKiB, TEST_PASSWORD_PARAMS.memoryKiB)
    counting.reset()
    assert.equal((await service.login('veteran', PASSWORD)).status, 'success')
    assert.equal(counting.calls.hash, 0, 'no second rehash')
    // A wrong password never rehashes.
    const before = await storedHash()
    await make(old).login('veteran', 'wrong wrong wrong')
    assert.equal(await storedHash(), before)
  })

  test('password change: wrong current password, reuse, common and valid', async () => {
    const user = await service.register({ username: 'changer', email: 'changer@example.org', password: PASSWORD })
    assert.deepEqual(await service.changePassword(user.id, 'not my password', 'a brand new passphrase'), {
      status: 'wrong_current_password',
    })
    await assert.rejects(service.changePassword(user.id, PASSWORD, PASSWORD), httpStatus(400, /differ/))
    await assert.rejects(service.changePassword(user.id, PASSWORD, 'iloveyou'), httpStatus(400, /too common/))
    await assert.rejects(service.changePassword(user.id, PASSWORD, 'CHANGER@example.org'), httpStatus(400, /email/))
    assert.deepEqual(await service.changePassword(user.id, PASSWORD, 'a brand new passphrase'), { status: 'changed' })
    assert.equal((await service.login('changer', PASSWORD)).status, 'invalid_credentials')
    assert.equal((await service.login('changer', 'a brand new passphrase')).status, 'success')
    assert.equal(await service.changePassword(999_999, PASSWORD, 'a brand new passphrase'), undefined)
  })

  test('profile text is NFC, trimmed, bounded after normalisation; spoofing characters are refused', async () => {
    const user = await service.register({ username: 'writer', email: 'writer@example.org', password: PASSWORD })
    const updated = await service.updateProfile(user.id, {
      display_name: '  Zoe\u0308  ',
      bio: ' line one\r\nline two\n ',
    })
    assert.equal(updated?.user.display_name, 'Zo\u00eb')
    assert.equal(updated?.user.bio, 'line one\nline two')
    assert.equal(updated?.previousEmail, null)
    await assert.rejects(
      service.updateProfile(user.id, { display_name: 'a\nb' }),
      httpStatus(400, 'display_name must be a single line'),
    )
    await assert.rejects(
      service.updateProfile(user.id, { display_name: 'evil\u202egnp.exe' }),
      httpStatus(400, /bidirectional/),
    )
    await assert.rejects(service.updateProfile(user.id, { bio: 'bell\u0007' }), httpStatus(400, /control/))
    await assert.rejects(
      service.updateProfile(user.id, { display_name: 'x'.repeat(65) }),
      httpStatus(400, /at most 64/),
    )
    assert.equal(
      (await service.updateProfile(user.id, { display_name: ` ${'x'.repeat(64)} ` }))?.user.display_name.length,
      64,
    )
    await assert.rejects(service.updateProfile(user.id, { bio: 'b'.repeat(501) }), httpStatus(400, /at most 500/))
    await assert.rejects(service.updateProfile(user.id, { email: 'ADA@example.org' }), httpStatus(409))
    const unchanged = await service.findUser(user.id)
    assert.equal(unchanged?.display_name, 'x'.repeat(64))
    assert.equal(unchanged?.email, 'writer@example.org')
  })

  test('normalizeText keeps emoji joiners and tabs in multi-line text', () => {
    assert.equal(normalizeText('👩‍💻\tcoder', 'bio', { maxLength: 10, multiline: true }), '👩‍💻\tcoder')
    assert.throws(() => normalizeText('a\tb', 'display_name', { maxLength: 10, multiline: false }), HttpError)
  })

  test('a full key-derivation queue is a 503 with Retry-After, not a hang', async () => {
    const busy = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 1, maxQueued: 0 })
    await busy.ready()
    const svc = make(busy)
    const results = await Promise.allSettled([svc.login('ada', PASSWORD), svc.login('ada', PASSWORD)])
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    assert.ok(refused, 'the second login was queued past the limit')
    assert.ok(refused.reason instanceof HttpError)
    assert.equal(refused.reason.statusCode, 503)
    assert.ok(refused.reason.headers['Retry-After'])
  })
})
