import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalTimestampMsFromBytes, parseLogTimestampMs } from '../../../src/cli/analyze-logs/timestamp.ts'
import { seededRandom } from '../../support/log-lines.ts'

describe('log timestamps', () => {
  test('the logger’s form, read from bytes, equals the string parser and Date for any instant', () => {
    const random = seededRandom(42)
    for (let round = 0; round < 20000; round++) {
      // From year 0001 to 9999, every month length and leap day included.
      const ms = Math.floor(-62_135_596_800_000 + random() * (253_402_300_799_999 + 62_135_596_800_000))
      const iso = new Date(ms).toISOString()
      assert.equal(canonicalTimestampMsFromBytes(Buffer.from(iso), 0), ms, iso)
      assert.equal(parseLogTimestampMs(iso), ms, iso)
    }
  })

  test('zone offsets, optional fraction, fraction truncated to milliseconds', () => {
    const base = Date.UTC(2026, 10, 23, 10, 0, 0)
    assert.equal(parseLogTimestampMs('2026-11-23T10:00:00Z'), base)
    assert.equal(parseLogTimestampMs('2026-11-23T10:00:00.5Z'), base + 500)
    assert.equal(parseLogTimestampMs('2026-11-23T10:00:00.123999Z'), base + 123)
    assert.equal(parseLogTimestampMs('2026-11-23T12:30:00.000+02:30'), base)
    assert.equal(parseLogTimestampMs('2026-11-23T05:00:00.000-05:00'), base)
  })

  test('impossible or zone-less instants are NaN, never rolled over or read as local time', () => {
    for (const text of [
      '2026-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-11-23T24:00:00.000Z',
      '2026-11-23T10:60:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-01T00:00:00.000Z',
      '2026-11-23T10:00:00.000',
      '2026-11-23',
      '2026-11-23T10:00:00.000+24:00',
      'Mon Nov 23 2026',
    ]) {
      assert.ok(Number.isNaN(parseLogTimestampMs(text)), text)
    }
    assert.equal(parseLogTimestampMs('2024-02-29T00:00:00.000Z'), Date.UTC(2024, 1, 29))
    assert.ok(Number.isNaN(canonicalTimestampMsFromBytes(Buffer.from('2026-11-23T10:00:00+0000'), 0)))
    assert.ok(Number.isNaN(canonicalTimestampMsFromBytes(Buffer.from('2026-11-23T1O:00:00.000Z'), 0)))
  })
})
