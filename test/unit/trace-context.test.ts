import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createTraceIdGenerator, createTraceIds, traceIdOf } from '../../src/http/trace-context.ts'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`
const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/

describe('traceIdOf: the trace-id of a W3C traceparent value', () => {
  test('a valid version 00 value gives its trace-id, whatever the flags', () => {
    assert.equal(traceIdOf(VALID), TRACE_ID)
    assert.equal(traceIdOf(`00-${TRACE_ID}-${PARENT_ID}-00`), TRACE_ID)
    assert.equal(traceIdOf(`00-${TRACE_ID}-${PARENT_ID}-ff`), TRACE_ID, 'unknown flag bits are not a reason to restart')
    // One digit from all zeros on either side is a valid id.
    assert.equal(traceIdOf(`00-${'0'.repeat(31)}1-${'0'.repeat(15)}1-01`), `${'0'.repeat(31)}1`)
  })

  test('a later version is read by the version 00 layout: exactly 55 characters, or a dash after the flags', () => {
    assert.equal(traceIdOf(`cc-${TRACE_ID}-${PARENT_ID}-01`), TRACE_ID)
    assert.equal(traceIdOf(`cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`), TRACE_ID)
    assert.equal(traceIdOf(`01-${TRACE_ID}-${PARENT_ID}-09-`), TRACE_ID)
    assert.equal(traceIdOf(`fe-${TRACE_ID}-${PARENT_ID}-01`), TRACE_ID, 'fe is the last version there can be')
  })

  const invalid: Array<[string, string | string[] | undefined]> = [
    ['absent', undefined],
    ['empty', ''],
    ['uppercase trace-id', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['uppercase parent-id', `00-${TRACE_ID}-00F067AA0BA902B7-01`],
    ['uppercase flags', `00-${TRACE_ID}-${PARENT_ID}-0A`],
    ['uppercase version', `0A-${TRACE_ID}-${PARENT_ID}-01`],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['version ff followed by fields', `ff-${TRACE_ID}-${PARENT_ID}-01-more`],
    ['all-zero trace-id', `00-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['all-zero parent-id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['all-zero trace-id in a later version', `cc-${'0'.repeat(32)}-${PARENT_ID}-01`],
    ['version 00 followed by a field', `${VALID}-what-the-future-will-be-like`],
    ['version 00 followed by a dash', `${VALID}-`],
    ['version 00 with a trailing space', `${VALID} `],
    ['version 00 with a leading space', ` ${VALID}`],
    ['version 00 with a character more', `${VALID}0`],
    ['a later version followed by something that is not a field', `cc-${TRACE_ID}-${PARENT_ID}-01.future`],
    ['a version that is not hex', `0x-${TRACE_ID}-${PARENT_ID}-01`],
    ['a version of one digit', `0-${TRACE_ID}-${PARENT_ID}-01`],
    ['a trace-id a digit short', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['a trace-id a digit long', `00-${TRACE_ID}0-${PARENT_ID}-01`],
    ['a parent-id a digit short', `00-${TRACE_ID}-${PARENT_ID.slice(1)}-01`],
    ['flags of one digit', `00-${TRACE_ID}-${PARENT_ID}-1`],
    ['a trace-id that is not hex', `00-${TRACE_ID.slice(0, 31)}g-${PARENT_ID}-01`],
    ['a parent-id that is not hex', `00-${TRACE_ID}-${PARENT_ID.slice(0, 15)}z-01`],
    ['flags that are not hex', `00-${TRACE_ID}-${PARENT_ID}-0g`],
    ['other separators', `00_${TRACE_ID}_${PARENT_ID}_01`],
    ['a UUID-shaped trace-id', `00-4bf92f35-77b3-4da6-a3ce-929d0e0e4736-${PARENT_ID}-01`],
    ['no flags', `00-${TRACE_ID}-${PARENT_ID}`],
    ['the header sent twice (Node joins the values)', `${VALID}, ${VALID}`],
    ['a later version sent twice', `cc-${TRACE_ID}-${PARENT_ID}-01, cc-${TRACE_ID}-${PARENT_ID}-01`],
    ['an array of values', [VALID]],
    ['garbage', 'not a traceparent at all, but long enough to be looked at by the parser'],
  ]
  for (const [name, value] of invalid) {
    test(`invalid, so not honoured: ${name}`, () => {
      assert.equal(traceIdOf(value), null)
    })
  }
})

describe('new trace ids', () => {
  test('32 lowercase hex digits, all different, across several refills of the pool', () => {
    const next = createTraceIdGenerator()
    const ids = Array.from({ length: 2000 }, next)
    for (const id of ids) assert.match(id, TRACE_ID_PATTERN)
    assert.equal(new Set(ids).size, ids.length)
    // Every hex digit turns up in every position: the bytes are random, not a counter or a constant.
    for (let position = 0; position < 32; position++) {
      assert.equal(new Set(ids.map((id) => id[position])).size, 16, `position ${position}`)
    }
  })

  test('two generators share nothing: their ids differ', () => {
    const a = createTraceIdGenerator()
    const b = createTraceIdGenerator()
    assert.notEqual(a(), b())
  })

  test('createTraceIds: the header’s trace-id when valid, else a new id, never the invalid header’s', () => {
    const traceIds = createTraceIds()
    assert.equal(traceIds(VALID), TRACE_ID)
    const upper = `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`
    const fresh = traceIds(upper)
    assert.match(fresh, TRACE_ID_PATTERN)
    assert.notEqual(fresh, TRACE_ID)
    assert.notEqual(traceIds(undefined), traceIds(undefined))
  })
})
