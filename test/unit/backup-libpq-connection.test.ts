/**
 * pg_dump and pg_restore get the connection on their command line, which every local user can read
 * in the process list: the password goes to the child's PGPASSWORD instead, wherever DATABASE_URL
 * carries it (libpq, like node-postgres, also reads `?password=` in the query string).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { libpqConnection } from '../../src/operations/backup/database-snapshot.ts'

describe('libpqConnection: no password on a command line', () => {
  test('a password in the user part goes to PGPASSWORD, decoded', () => {
    const connection = libpqConnection('postgres://lectern:p%40ss%2Fword@db.internal:5432/lectern', { PATH: '/bin' })
    assert.equal(connection.dbname, 'postgres://lectern@db.internal:5432/lectern')
    assert.deepEqual(connection.env, { PATH: '/bin', PGPASSWORD: 'p@ss/word' })
  })

  test('a password in the query string goes there too; the other parameters stay', () => {
    const connection = libpqConnection('postgres://lectern@db.internal/lectern?sslmode=require&password=s%26cret', {})
    assert.doesNotMatch(connection.dbname, /cret/)
    assert.equal(connection.dbname, 'postgres://lectern@db.internal/lectern?sslmode=require')
    assert.equal(connection.env.PGPASSWORD, 's&cret')
  })

  test('no password anywhere: PGPASSWORD is not set (a .pgpass or peer authentication is used)', () => {
    const connection = libpqConnection('postgres://lectern@localhost/lectern?sslmode=disable', {})
    assert.equal(connection.env.PGPASSWORD, undefined)
    assert.equal(connection.dbname, 'postgres://lectern@localhost/lectern?sslmode=disable')
  })
})
