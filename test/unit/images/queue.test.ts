import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createConcurrencyLimiter } from '../../../src/images/queue.ts'

/** A task the test finishes by hand, recording when it started. */
function controllableTask(started: string[], name: string) {
  let finish!: (value: string) => void
  let fail!: (error: Error) => void
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  return {
    run: () => {
      started.push(name)
      return done
    },
    finish: () => finish(name),
    fail: (error: Error) => fail(error),
  }
}

/** Lets queued promise callbacks run; no timers involved. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('createConcurrencyLimiter', () => {
  test('runs at most N tasks at once and starts the rest in arrival order', async () => {
    const limiter = createConcurrencyLimiter(2)
    const started: string[] = []
    const tasks = ['a', 'b', 'c', 'd'].map((name) => controllableTask(started, name))
    const results = tasks.map((task) => limiter.run(task.run))
    await settle()
    assert.deepEqual(started, ['a', 'b'])
    assert.deepEqual([limiter.active, limiter.waiting], [2, 2])

    tasks[1]!.finish()
    await settle()
    assert.deepEqual(started, ['a', 'b', 'c'])
    assert.deepEqual([limiter.active, limiter.waiting], [2, 1])

    tasks[0]!.finish()
    tasks[2]!.finish()
    await settle()
    assert.deepEqual(started, ['a', 'b', 'c', 'd'])
    tasks[3]!.finish()
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd'])
    assert.deepEqual([limiter.active, limiter.waiting], [0, 0])
  })

  test('a failing task passes its error on and frees its slot', async () => {
    const limiter = createConcurrencyLimiter(1)
    const started: string[] = []
    const failing = controllableTask(started, 'fails')
    const next = controllableTask(started, 'next')
    const first = limiter.run(failing.run)
    const second = limiter.run(next.run)
    await settle()
    assert.deepEqual(started, ['fails'])
    failing.fail(new Error('boom'))
    await assert.rejects(first, /boom/)
    await settle()
    assert.deepEqual(started, ['fails', 'next'])
    next.finish()
    assert.equal(await second, 'next')
    assert.equal(limiter.active, 0)
  })

  test('a task that throws synchronously frees its slot too', async () => {
    const limiter = createConcurrencyLimiter(1)
    await assert.rejects(
      limiter.run(() => {
        throw new Error('sync')
      }),
      /sync/,
    )
    assert.equal(await limiter.run(async () => 'after'), 'after')
  })

  test('the limit must be a positive integer', () => {
    assert.throws(() => createConcurrencyLimiter(0), RangeError)
    assert.throws(() => createConcurrencyLimiter(1.5), RangeError)
  })
})
