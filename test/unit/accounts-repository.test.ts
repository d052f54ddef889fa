import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DatabaseHandle } from '../../src/db/database.ts'
import {
  createAccountsRepository,
  DuplicateUserError,
  uniqueViolationField,
  type AccountsRepository,
} from '../../src/modules/accounts/accounts.repository.ts'
import { createTestDatabase } from '../support/database.ts'
import { testDatabaseUrl } from '../support/services.ts'

const postgresUrl = testDatabaseUrl()
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const
const NOW = Date.UTC(2026, 0, 15, 12)

describe('uniqueViolationField', () => {
  test('recognises both databases’ unique violations and nothing else', () => {
    const sqlite = (column: string) =>
      Object.assign(new Error(`UNIQUE constraint failed: users.${column}`), { code: 'SQLITE_CONSTRAINT_UNIQUE' })
    const pg = (column: string) =>
      Object.assign(new Error('duplicate key value violates unique constraint'), {
        code: '23505',
        constraint: `users_${column}_key`,
        detail: `Key (${column})=(ada) already exists.`,
      })
    assert.equal(uniqueViolationField(sqlite('username_lower')), 'username')
    assert.equal(uniqueViolationField(sqlite('email_lower')), 'email')
    assert.equal(uniqueViolationField(pg('username_lower')), 'username')
    assert.equal(uniqueViolationField(pg('email_lower')), 'email')
    assert.equal(
      uniqueViolationField(
        Object.assign(new Error('NOT NULL constraint failed'), { code: 'SQLITE_CONSTRAINT_NOTNULL' }),
      ),
      null,
    )
    assert.equal(uniqueViolationField(new Error('UNIQUE constraint failed: users.username_lower')), null)
    assert.equal(uniqueViolationField(null), null)
    assert.equal(uniqueViolationField('23505'), null)
  })
})

for (const kind of kinds) {
  describe(`accounts repository on ${kind}`, () => {
    let database: DatabaseHandle
    let repo: AccountsRepository
    let counter = 0
    const fresh = () => {
      counter++
      return { username: `User${counter}`, email: `User${counter}@Example.org` }
    }
    const insert = (user: { username: string; email: string }, passwordHash = 'hash-1') =>
      repo.insert({ ...user, passwordHash, nowMs: NOW })

    before(async () => {
      database = await createTestDatabase(kind, postgresUrl)
      repo = createAccountsRepository(database.db)
    })
    after(() => database.close())

    test('insert stores the names as given, with lower-cased keys, and returns no hash', async () => {
      const { username, email } = fresh()
      const user = await insert({ username, email }, 'the-hash')
      assert.equal(user.username, username)
      assert.equal(user.email, email)
      assert.equal(user.role, 'learner')
      assert.equal(user.disabled, 0)
      assert.equal(user.created_at, NOW)
      assert.ok(!('password_hash' in user))
      const row = await database.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow()
      assert.equal(row.username_lower, username.toLowerCase())
      assert.equal(row.email_lower, email.toLowerCase())
      assert.equal(row.password_hash, 'the-hash')
      const found = await repo.findById(user.id)
      assert.deepEqual(found, user)
      assert.ok(!('password_hash' in found!))
    })

    test('a username or email taken in another case is a DuplicateUserError naming the field', async () => {
      const first = fresh()
      await insert(first)
      await assert.rejects(
        insert({ username: first.username.toUpperCase(), email: fresh().email }),
        (error: unknown) => error instanceof DuplicateUserError && error.field === 'username',
      )
      await assert.rejects(
        insert({ username: fresh().username, email: first.email.toLowerCase() }),
        (error: unknown) => error instanceof DuplicateUserError && error.field === 'email',
      )
      assert.deepEqual([...(await repo.takenFields(first.username.toLowerCase(), first.email.toUpperCase()))].sort(), [
        'email',
        'username',
      ])
      assert.deepEqual([...(await repo.takenFields(fresh().username, fresh().email))], [])
    })

    test('concurrent registrations of one name: exactly one wins, the others are DuplicateUserError', async () => {
      const { username } = fresh()
      const attempts = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          insert({ username: i % 2 ? username.toUpperCase() : username, email: `race-${counter}-${i}@example.org` }),
        ),
      )
      const won = attempts.filter((a) => a.status === 'fulfilled')
      const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected')
      assert.equal(won.length, 1)
      assert.equal(lost.length, 5)
      for (const loss of lost)
        assert.ok(loss.reason instanceof DuplicateUserError && loss.reason.field === 'username', String(loss.reason))
    })

    test('updateProfile changes only the given fields; an email taken by another user is a DuplicateUserError', async () => {
      const ada = await insert(fresh())
      const bob = await insert(fresh())
      const updated = await repo.updateProfile(ada.id, { display_name: 'Ada', bio: 'Analyst' }, NOW + 1000)
      assert.equal(updated?.display_name, 'Ada')
      assert.equal(updated?.bio, 'Analyst')
      assert.equal(updated?.email, ada.email)
      assert.equal(updated?.role, 'learner')
      assert.equal(updated?.updated_at, NOW + 1000)
      await assert.rejects(
        repo.updateProfile(ada.id, { email: bob.email.toUpperCase() }, NOW),
        (error: unknown) => error instanceof DuplicateUserError && error.field === 'email',
      )
      const moved = await repo.updateProfile(ada.id, { email: 'New.Address@Example.org' }, NOW)
      assert.equal(moved?.email, 'New.Address@Example.org')
      assert.deepEqual([...(await repo.takenFields('nobody-here', 'new.address@example.org'))], ['email'])
      assert.equal(await repo.updateProfile(999_999, { bio: 'x' }, NOW), undefined)
    })

    test('credentials are read by their own queries, by name (any case) or id', async () => {
      const user = await insert(fresh(), 'stored-hash')
      const byName = await repo.findCredentialsByUsername(user.username.toUpperCase())
      assert.equal(byName?.id, user.id)
      assert.equal(byName?.password_hash, 'stored-hash')
      assert.equal((await repo.findCredentialsById(user.id))?.password_hash, 'stored-hash')
      assert.equal(await repo.findCredentialsByUsername('no-such-user'), undefined)
    })

    test('a rehash writes only if the hash is still the one verified (never undoes a password change)', async () => {
      const user = await insert(fresh(), 'old-hash')
      assert.equal(await repo.setPasswordHash(user.id, 'changed-by-user', NOW), true)
      assert.equal(await repo.setPasswordHash(user.id, 'rehash-of-old', NOW, 'old-hash'), false)
      assert.equal((await repo.findCredentialsById(user.id))?.password_hash, 'changed-by-user')
      assert.equal(await repo.setPasswordHash(user.id, 'rehash-of-new', NOW, 'changed-by-user'), true)
      assert.equal((await repo.findCredentialsById(user.id))?.password_hash, 'rehash-of-new')
    })
  })
}
