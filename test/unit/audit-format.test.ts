import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeCursor, encodeCursor } from '../../src/modules/audit/audit-cursor.ts'
import { csvCell, csvLine } from '../../src/modules/audit/audit-csv.ts'

describe('audit cursor', () => {
  test('a cursor names (timestamp, id) and reads back exactly', () => {
    for (const position of [
      { timestamp: 0, id: 1 },
      { timestamp: Date.UTC(2026, 0, 15), id: 42 },
      { timestamp: Number.MAX_SAFE_INTEGER, id: 2_147_483_647 },
    ]) {
      const cursor = encodeCursor(position)
      assert.match(cursor, /^[A-Za-z0-9_-]+$/)
      assert.deepEqual(decodeCursor(cursor), position)
    }
  })

  test('anything else is not a cursor: garbage, other spellings, out-of-range numbers, padding, other alphabets', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url')
    const refused = [
      '',
      'garbage!',
      b64('12:x'),
      b64('12'),
      b64('-1:5'),
      b64('1.5:5'),
      b64('012:5'), // leading zero: another spelling of 12:5
      b64(' 12:5'),
      b64('12:5\n'),
      b64('99999999999999999:1'), // past Number.MAX_SAFE_INTEGER
      `${encodeCursor({ timestamp: 12, id: 5 })}=`,
      Buffer.from('12:5').toString('base64'),
      'A'.repeat(65),
    ]
    for (const cursor of refused) assert.equal(decodeCursor(cursor), null, JSON.stringify(cursor))
  })
})

describe('audit CSV (RFC 4180, no formulas)', () => {
  test('plain cells as they are; null is empty; numbers as digits', () => {
    assert.equal(csvLine(['auth_failure', 12, null, '203.0.113.7']), 'auth_failure,12,,203.0.113.7\r\n')
  })

  test('quotes doubled, and a cell with a comma, quote, CR or LF quoted', () => {
    assert.equal(csvCell('a,b'), '"a,b"')
    assert.equal(csvCell('say "hi"'), '"say ""hi"""')
    assert.equal(csvCell('two\nlines'), '"two\nlines"')
    assert.equal(csvCell('two\r\nlines'), '"two\r\nlines"')
    assert.equal(csvCell('{"reason":"x"}'), '"{""reason"":""x""}"')
  })

  test('a cell starting with = + - @ tab or CR gets a leading apostrophe; elsewhere they are left alone', () => {
    assert.equal(csvCell('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`)
    assert.equal(csvCell('+1+2'), "'+1+2")
    assert.equal(csvCell('-2+3'), "'-2+3")
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)")
    assert.equal(csvCell('\tcmd'), "'\tcmd")
    assert.equal(csvCell('\rcmd'), `"'\rcmd"`)
    assert.equal(csvCell('a=b+c-d@e'), 'a=b+c-d@e')
    assert.equal(csvCell(' =x'), ' =x')
  })
})
