import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Timeline, TimelineTooLongError } from '../../../src/cli/analyze-logs/timeline.ts'
import { seededRandom } from '../../support/log-lines.ts'

const START = Date.UTC(2026, 10, 23, 10)
const window = { fromMs: START, toMs: START + 600_000 }

/** Requests spread over the window, with a wide spread of durations and statuses. */
function requests(count: number, seed: number): Array<[number, number, number]> {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => [
    START + Math.floor(random() * 600_000),
    random() < 0.1 ? 500 : random() < 0.1 ? 404 : 200,
    Math.round(Math.exp(random() * 8) * 1000) / 1000,
  ])
}

function fill(timeline: Timeline, lines: ReadonlyArray<[number, number, number]>): Timeline {
  for (const [at, status, duration] of lines) timeline.addRequest(at, status, duration)
  return timeline
}

describe('timeline buckets', () => {
  test('two timelines merged give exactly what one pass over all the lines gives', () => {
    const lines = requests(5000, 7)
    const single = fill(new Timeline(60_000, window), lines)
    for (const cut of [0, 1, 2500, 4999, 5000]) {
      const first = fill(new Timeline(60_000, window), lines.slice(0, cut))
      const second = fill(new Timeline(60_000, window), lines.slice(cut))
      first.merge(second.toState())
      assert.deepEqual(first.entries(), single.entries(), `cut at ${cut}`)
      assert.equal(first.isExact, true)
    }
  })

  test('past the exact capacity every bucket keeps a histogram: merged or not, the same answers, within 0.5%', () => {
    const lines = requests(3000, 11)
    const exact = fill(new Timeline(60_000, window), lines).entries()
    const single = fill(new Timeline(60_000, window, 1000), lines)
    assert.equal(single.isExact, false)
    const first = fill(new Timeline(60_000, window, 1000), lines.slice(0, 900))
    const second = fill(new Timeline(60_000, window, 1000), lines.slice(900))
    assert.equal(first.isExact, true)
    first.merge(second.toState())
    assert.equal(first.isExact, false)
    assert.deepEqual(first.entries(), single.entries())
    single.entries().forEach((entry, i) => {
      const reference = exact[i]!
      assert.equal(entry.requests, reference.requests)
      for (const key of ['p50', 'p95', 'p99'] as const) {
        const want = reference.latencyMs![key]
        assert.ok(
          Math.abs(entry.latencyMs![key] - want) <= want * 0.005 + 1e-9,
          `${key}: ${entry.latencyMs![key]} vs ${want}`,
        )
      }
    })
  })

  test('the bucket limit holds while reading, for lines of an unbounded window', () => {
    const timeline = new Timeline(1000, { fromMs: null, toMs: null })
    timeline.addRequest(START, 200, 1)
    timeline.addRequest(START + 9_999_000, 200, 1) // 10,000 buckets
    assert.throws(() => timeline.addSecurityEvent(START + 10_000_000), TimelineTooLongError)
    assert.throws(() => timeline.addRequest(START - 1000, 200, 1), TimelineTooLongError)
    assert.equal(timeline.entries().length, 10_000)
  })

  test('an automatic timeline lengthens its bucket as lines come, regrouping exactly', () => {
    const lines = requests(4000, 3)
      .map(([at, status, duration]): [number, number, number] => [START + (at - START) * 24, status, duration]) // 4 hours
      .sort(([a], [b]) => a - b)
    const open = { fromMs: null, toMs: null }
    const auto = fill(new Timeline('auto', open), lines)
    assert.equal(auto.bucketMs, 300_000) // 4 hours: 5 minutes makes 48 buckets, 1 minute 240
    assert.deepEqual(auto.entries(), fill(new Timeline(300_000, open), lines).entries())
    // Two automatic timelines that chose different lengths merge into the longer one, exactly.
    const short = fill(new Timeline('auto', open), lines.slice(0, 100))
    const long = fill(new Timeline('auto', open), lines.slice(100))
    assert.ok(short.bucketMs < long.bucketMs)
    short.merge(long.toState())
    assert.equal(short.bucketMs, 300_000)
    assert.deepEqual(short.entries(), auto.entries())
    // With a bounded window the length is chosen from it at once.
    assert.equal(new Timeline('auto', window).bucketMs, 5000) // 10 minutes: 120 buckets of 5 s
  })

  test('bucketCount: known before reading when both sides are bounded', () => {
    assert.equal(Timeline.bucketCount(window, 60_000), 10)
    assert.equal(Timeline.bucketCount({ fromMs: START + 1, toMs: START + 600_001 }, 60_000), 11)
    assert.equal(Timeline.bucketCount({ fromMs: START, toMs: START }, 60_000), 1)
    assert.equal(Timeline.bucketCount({ fromMs: START, toMs: null }, 60_000), null)
  })
})
