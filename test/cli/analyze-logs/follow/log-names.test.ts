import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isLiveLogName, isLogFileName } from '../../../../src/cli/analyze-logs/follow/log-names.ts'
import { classifyLogFileName } from '../../../../src/cli/analyze-logs/log-file-names.ts'

const NAMES = [
  'lectern.log',
  'lectern.jsonl',
  'lectern.2026-11-23.log',
  'lectern.2026-11-23.1.log.gz',
  'lectern.log.1',
  'lectern.log.2.gz',
  'lectern.log-20261123',
  'lectern.log-2026112310.gz',
  'lectern.log.2026-11-23',
  'lectern.log.2026-11-23_10-15',
  'lectern.log.bak',
  'lectern.log.swp',
  'lectern.log.1.bak',
  'lectern.log.gz.tmp',
  'lectern.log.2026-13-01',
  'notes.txt',
]

test('--follow takes exactly the names a one-off run takes', () => {
  for (const name of NAMES) {
    assert.equal(isLogFileName(name), classifyLogFileName(name) !== null, name)
  }
  assert.deepEqual(
    NAMES.filter(isLogFileName).length,
    10,
    'the ten rotated and live names above are logs; backups, swap files and impossible dates are not',
  )
})

test('only a name new lines go to is live: not a rotated name, not a compressed one', () => {
  assert.deepEqual(NAMES.filter(isLiveLogName), ['lectern.log', 'lectern.jsonl'])
  assert.equal(isLiveLogName('lectern.log.gz'), false)
})
