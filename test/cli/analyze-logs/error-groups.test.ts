import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorGroups } from '../../../src/cli/analyze-logs/error-groups.ts'

describe('top errors', () => {
  test('grouped by path and message, most frequent first, ties by path then message', () => {
    const groups = new ErrorGroups()
    const add = (path: string | null, message: string | null, times: number) => {
      for (let i = 0; i < times; i++) groups.add(path, message)
    }
    add('/b', 'Not found', 3)
    add('/a', 'Not found', 3)
    add('/a', 'Forbidden', 3)
    add('/a', 'Not found', 1) // now 4
    add('/c', null, 2)
    add(null, 'x', 2)
    add('null', 'x', 1)
    assert.deepEqual(groups.top(10), [
      { path: '/a', error: 'Not found', count: 4 },
      { path: '/a', error: 'Forbidden', count: 3 },
      { path: '/b', error: 'Not found', count: 3 },
      { path: null, error: 'x', count: 2 },
      { path: '/c', error: null, count: 2 },
      { path: 'null', error: 'x', count: 1 },
    ])
    assert.deepEqual(
      groups.top(2).map((g) => g.count),
      [4, 3],
    )
    assert.deepEqual(groups.top(0), [])
    assert.equal(groups.maxUndercount, 0)
  })

  test('past capacity, memory stays bounded and heavy hitters stay listed within the stated bound', () => {
    const capacity = 100
    const groups = new ErrorGroups(capacity)
    let total = 0
    // A scanner probing 20,000 random paths once each, around two real, frequent errors.
    for (let i = 0; i < 20_000; i++) {
      groups.add(`/probe/${i}`, 'Not found')
      total++
      if (i % 10 === 0) {
        groups.add('/api/login', 'Invalid username or password')
        total++
      }
      if (i % 20 === 0) {
        groups.add('/api/upload-avatar', 'File too large')
        total++
      }
    }
    const top = groups.top(2)
    assert.deepEqual(
      top.map((g) => g.path),
      ['/api/login', '/api/upload-avatar'],
    )
    assert.ok(groups.maxUndercount > 0)
    assert.ok(groups.maxUndercount <= total / (capacity + 1))
    assert.ok(
      (top[0] as { count: number }).count >= 2000 - groups.maxUndercount && (top[0] as { count: number }).count <= 2000,
    )
    assert.ok(groups.top(10_000).length <= capacity)
  })
})
