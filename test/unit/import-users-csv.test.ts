import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, readImportCsv } from '../../src/modules/accounts/import-users.csv.ts'

const read = (text: string) => readImportCsv(Buffer.from(text, 'utf8'))
const lines = (text: string) => {
  const result = read(text)
  assert.ok(result.ok, JSON.stringify(result))
  return result.rows.map((row) => [row.line, row.username])
}

describe('the import-users CSV file', () => {
  test('rows know the line they start on: LF, CRLF, lone CR, a BOM, empty rows, quoted line breaks', () => {
    const body = ['Username,EMAIL', 'ann,a@x.org', '', ',,', '"bob","b@', 'x.org"', 'cid,c@x.org']
    const expected = [
      [2, 'ann'],
      [5, 'bob'],
      [7, 'cid'],
    ]
    assert.deepEqual(lines(body.join('\n')), expected)
    assert.deepEqual(lines(`\ufeff${body.join('\r\n')}\r\n`), expected)
    assert.deepEqual(lines(['username,email', 'ann,a@x.org', '', 'bob,b@x.org'].join('\r')), [
      [2, 'ann'],
      [4, 'bob'],
    ])
  })

  test('columns in any order and case; cells trimmed; the optional ones empty when absent', () => {
    const result = read('ROLE , email,username\ninstructor, g@x.org , grace\n')
    assert.ok(result.ok)
    assert.deepEqual(result.rows, [
      { line: 2, username: 'grace', email: 'g@x.org', display_name: '', role: 'instructor' },
    ])
  })

  test('the bounds: exactly the most rows and bytes pass, one more is refused', () => {
    const rows = (n: number) =>
      `username,email\n${Array.from({ length: n }, (_, i) => `u${i},u${i}@x.org`).join('\n')}\n`
    assert.equal(read(rows(MAX_IMPORT_ROWS)).ok, true)
    assert.deepEqual(read(rows(MAX_IMPORT_ROWS + 1)), {
      ok: false,
      problems: [`the file has more than ${MAX_IMPORT_ROWS} rows: split it`],
    })
    const padded = (size: number) => {
      const head = 'username,email,display_name\nann,a@x.org,'
      return `${head}${'n'.repeat(size - head.length)}`
    }
    assert.equal(readImportCsv(Buffer.from(padded(MAX_IMPORT_BYTES))).ok, true)
    assert.equal(readImportCsv(Buffer.from(padded(MAX_IMPORT_BYTES + 1))).ok, false)
  })
})
