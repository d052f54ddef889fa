import { randomFillSync } from 'node:crypto'

/*
 * The trace id every line of a request carries (CONTRACT §7 `trace_id`): the trace-id of a valid
 * W3C Trace Context `traceparent` request header, so that the lines of one request can be found
 * by the id a proxy or a calling service traced it under, else a new random one. Lectern records
 * no spans and forwards no context: it answers no `traceresponse` and adds nothing to its own
 * outgoing calls (docs/adr/0018-trace-ids.md).
 */

const TRACE_ID_BYTES = 16
/** The length of a version 00 `traceparent`, and the least any version may have. */
const TRACEPARENT_CHARS = 55
const ZERO_TRACE_ID = '0'.repeat(2 * TRACE_ID_BYTES)
const ZERO_PARENT_ID = '0'.repeat(16)

/**
 * version "-" trace-id "-" parent-id "-" trace-flags, all lowercase hex, then the end of the
 * value or, for a version after 00 only, a dash and fields this version does not know.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-|$)/

/**
 * The trace-id of a `traceparent` value, or null when it is not one to honour. Follows the
 * W3C Trace Context Recommendation: lowercase hex only; version ff, an all-zero trace-id and an
 * all-zero parent-id are invalid; version 00 is exactly 55 characters; a later version is read
 * by the version 00 layout when it is at least that long and its flags end the value or are
 * followed by a dash. A header sent twice arrives joined by Node (`a, b`) and fails these rules.
 */
export function traceIdOf(traceparent: string | string[] | undefined): string | null {
  if (typeof traceparent !== 'string' || traceparent.length < TRACEPARENT_CHARS) return null
  const match = TRACEPARENT.exec(traceparent)
  if (match === null) return null
  const [, version, traceId, parentId] = match as unknown as [string, string, string, string]
  if (version === 'ff') return null
  if (version === '00' && traceparent.length !== TRACEPARENT_CHARS) return null
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return null
  return traceId
}

/** How many ids one fill of the random pool gives: one call into the CSPRNG per this many requests. */
const IDS_PER_FILL = 256
const HEX_CHARS_PER_ID = 2 * TRACE_ID_BYTES

/**
 * Makes new trace ids: 16 bytes from the CSPRNG as 32 lowercase hex digits. The bytes of 256 ids
 * are drawn and turned into hex at once, and each id is a slice of that text: `randomBytes(16)`
 * per request costs over a microsecond on Node 26, a hex conversion per id about 70 ns, a slice
 * about 20 (bench/http/request-lines.ts measures it with the rest of a request's logging). A slice
 * keeps its 8 KiB text alive while it is referenced, which is while its request is logged.
 */
export function createTraceIdGenerator(): () => string {
  const pool = Buffer.allocUnsafeSlow(TRACE_ID_BYTES * IDS_PER_FILL)
  let hex = ''
  let offset = HEX_CHARS_PER_ID * IDS_PER_FILL
  const next = (): string => {
    if (offset === HEX_CHARS_PER_ID * IDS_PER_FILL) {
      randomFillSync(pool)
      hex = pool.toString('hex')
      offset = 0
    }
    const id = hex.slice(offset, offset + HEX_CHARS_PER_ID)
    offset += HEX_CHARS_PER_ID
    // All zeros is not a trace id (W3C); one chance in 2^128, but then draw again.
    return id === ZERO_TRACE_ID ? next() : id
  }
  return next
}

/** The trace id of a request: its `traceparent`'s when valid, else a new one. */
export function createTraceIds(): (traceparent: string | string[] | undefined) => string {
  const newTraceId = createTraceIdGenerator()
  return (traceparent) => traceIdOf(traceparent) ?? newTraceId()
}
