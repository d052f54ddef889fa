/**
 * Constraint errors as the drivers really throw them: SQLite always, PostgreSQL when
 * TEST_DATABASE_URL is set (skipped loudly otherwise, required in CI).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DatabaseHandle } from '../../src/db/database.ts'
import { isForeignKeyViolation, isUniqueViolation, isUniqueViolationOf } from '../../src/db/errors.ts'
import { createTestDatabase } from '../support/database.ts'
import { testDatabaseUrl } from '../support/services.ts'

const postgresUrl = testDatabaseUrl()
const kinds = ['sqlite', ...(postgresUrl ? ['postgres' as const] : [])] as const
const NOW = Date.UTC(2026, 0, 15, 12)

/** The error the promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  assert.fail('the write was expected to be refused')
}

for (const kind of kinds) {
  describe(`constraint errors on ${kind}`, () => {
    let database: DatabaseHandle
    let userId: number

    const userValues = (username: string, email: string) => ({
      username,
      username_lower: username.toLowerCase(),
      email,
      email_lower: email.toLowerCase(),
      password_hash: 'hash',
      display_name: username,
      bio: '',
      role: 'learner' as const,
      disabled: 0,
      created_at: NOW,
      updated_at: NOW,
    })
    const insertUser = (username: string, email: string) =>
      database.db.insertInto('users').values(userValues(username, email)).returning('id').executeTakeFirstOrThrow()

    before(async () => {
      database = await createTestDatabase(kind, postgresUrl)
      userId = (await insertUser('ada', 'ada@example.com')).id
    })
    after(() => database.close())

    test('a taken username is a unique violation of username_lower, not of email_lower', async () => {
      const error = await rejection(insertUser('ADA', 'other@example.com'))
      assert.equal(isUniqueViolation(error), true)
      assert.equal(isUniqueViolationOf(error, 'username_lower'), true)
      assert.equal(isUniqueViolationOf(error, 'email_lower'), false)
      assert.equal(isForeignKeyViolation(error), false)
    })

    test('a taken email is a unique violation of email_lower', async () => {
      const error = await rejection(insertUser('grace', 'ADA@example.com'))
      assert.equal(isUniqueViolationOf(error, 'email_lower'), true)
      assert.equal(isUniqueViolationOf(error, 'username_lower'), false)
    })

    test('a row pointing at a missing row is a foreign key violation', async () => {
      const error = await rejection(
        database.db
          .insertInto('enrollments')
          .values({ user_id: userId, course_id: 999_999, enrolled_at: NOW })
          .execute(),
      )
      assert.equal(isForeignKeyViolation(error), true)
      assert.equal(isUniqueViolation(error), false)
      assert.equal(isUniqueViolationOf(error, 'course_id'), false)
    })

    test('other refusals are neither', async () => {
      const error = await rejection(
        database.db
          .insertInto('users')
          .values({ ...userValues('lin', 'lin@example.com'), username: null as unknown as string })
          .execute(),
      )
      assert.equal(isUniqueViolation(error), false)
      assert.equal(isForeignKeyViolation(error), false)
    })
  })
}

describe('constraint errors: values that are not driver errors', () => {
  test('are never recognised, whatever their text', () => {
    for (const value of [
      null,
      undefined,
      '23505',
      23505,
      new Error('UNIQUE constraint failed: users.username_lower'),
    ]) {
      assert.equal(isUniqueViolation(value), false)
      assert.equal(isForeignKeyViolation(value), false)
      assert.equal(isUniqueViolationOf(value, 'username_lower'), false)
    }
  })
})
