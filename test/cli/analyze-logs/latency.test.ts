import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  HISTOGRAM_RELATIVE_ACCURACY,
  LatencyRecorder,
  nearestRank,
  selectInPlace,
} from '../../../src/cli/analyze-logs/latency.ts'
import { seededRandom } from '../../support/log-lines.ts'

function exactNearestRank(sorted: Float64Array, percent: number): number {
  return sorted[Math.ceil((percent / 100) * sorted.length) - 1] as number
}

describe('latency percentiles', () => {
  test('nearest rank: 1..100 gives p50 = 50, p95 = 95, p99 = 99, max = 100', () => {
    const recorder = new LatencyRecorder()
    // Recorded out of order, so the answer depends on sorting.
    for (let i = 100; i >= 1; i--) recorder.record(i)
    assert.deepEqual(recorder.percentiles(), { p50: 50, p95: 95, p99: 99, max: 100 })
  })

  test('small counts: one sample is every percentile; of 20, p95 is the 19th', () => {
    const one = new LatencyRecorder()
    one.record(7.5)
    assert.deepEqual(one.percentiles(), { p50: 7.5, p95: 7.5, p99: 7.5, max: 7.5 })
    const twenty = new LatencyRecorder()
    for (let i = 1; i <= 20; i++) twenty.record(i * 10)
    assert.deepEqual(twenty.percentiles(), { p50: 100, p95: 190, p99: 200, max: 200 })
    assert.equal(new LatencyRecorder().percentiles(), null)
  })

  test('nearestRank never lands one off through floating point', () => {
    for (let n = 1; n <= 5000; n++) {
      for (const p of [50, 95, 99]) assert.equal(nearestRank(p, n), Math.ceil((p * n) / 100))
    }
    assert.equal(nearestRank(95, 20), 19)
    assert.equal(nearestRank(99, 100), 99)
    assert.equal(nearestRank(50, 1), 1)
  })

  test('exact on random data while under capacity, growing its array as it goes', () => {
    const random = seededRandom(9)
    const values = Array.from({ length: 200_000 }, () => Math.round(Math.exp(random() * 8) * 1000) / 1000)
    const recorder = new LatencyRecorder()
    for (const v of values) recorder.record(v)
    assert.ok(recorder.isExact)
    const sorted = Float64Array.from(values).sort()
    const at = (percent: number) => exactNearestRank(sorted, percent)
    assert.deepEqual(recorder.percentiles(), { p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1] })
  })

  test('past capacity the histogram answers within 0.5% (the contract allows 1%), max stays exact', () => {
    const random = seededRandom(10)
    const values = Array.from({ length: 50_000 }, () => 0.05 + Math.exp(random() * 10))
    values.push(0, 0)
    const recorder = new LatencyRecorder(1000)
    for (const v of values) recorder.record(v)
    assert.equal(recorder.isExact, false)
    const got = recorder.percentiles()
    assert.ok(got)
    const sorted = Float64Array.from(values).sort()
    for (const [key, percent] of [
      ['p50', 50],
      ['p95', 95],
      ['p99', 99],
    ] as const) {
      const exact = exactNearestRank(sorted, percent)
      assert.ok(
        Math.abs(got[key] - exact) <= exact * HISTOGRAM_RELATIVE_ACCURACY * 1.0001,
        `${key}: ${got[key]} vs ${exact}`,
      )
    }
    assert.equal(
      got.max,
      values.reduce((a, b) => Math.max(a, b)),
    )
  })
})

describe('selecting an order statistic in place', () => {
  test('the same value as sorting would put at the index, for random, sorted, reversed and repeated data', () => {
    const random = seededRandom(12)
    const shapes: Array<(n: number) => number[]> = [
      (n) => Array.from({ length: n }, () => Math.round(random() * 1000) / 10),
      (n) => Array.from({ length: n }, (_, i) => i),
      (n) => Array.from({ length: n }, (_, i) => n - i),
      (n) => Array.from({ length: n }, () => Math.floor(random() * 3)),
      (n) => Array.from({ length: n }, () => 7),
    ]
    for (const shape of shapes) {
      for (const n of [1, 2, 3, 10, 101, 5000]) {
        const values = shape(n)
        const sorted = Float64Array.from(values).sort()
        for (const k of [0, Math.floor(n / 2), n - 1, Math.floor(random() * n)]) {
          assert.equal(selectInPlace(Float64Array.from(values), k, 0, n - 1), sorted[k], `n=${n} k=${k}`)
        }
      }
    }
  })
})
