import { SECURITY_EVENTS, type SecurityEventName } from '../../logging/events.ts'

/**
 * What the analyzer needs to know of a line's `event`, as a small integer so the hot loop
 * compares numbers, not strings: absent (or not a string), some event it does not count,
 * `request_complete`, or one of the security events (SECURITY_EVENT_BASE + its index).
 */
export const EVENT_ABSENT = -1
export const EVENT_OTHER = 0
export const EVENT_REQUEST_COMPLETE = 1
export const SECURITY_EVENT_BASE = 2

export const SECURITY_EVENT_NAMES: readonly SecurityEventName[] = SECURITY_EVENTS

const COUNTED_EVENTS: ReadonlyMap<string, number> = new Map([
  ['request_complete', EVENT_REQUEST_COMPLETE],
  ...SECURITY_EVENT_NAMES.map((name, index): [string, number] => [name, SECURITY_EVENT_BASE + index]),
])

export function eventKindOf(name: string): number {
  return COUNTED_EVENTS.get(name) ?? EVENT_OTHER
}

export function isSecurityEventKind(kind: number): boolean {
  return kind >= SECURITY_EVENT_BASE
}

export interface EventNameBytes {
  bytes: Uint8Array
  kind: number
}

/** The counted names as bytes, indexed by length, for matching a name without decoding it. */
export function countedEventBytesByLength(): ReadonlyArray<readonly EventNameBytes[]> {
  const byLength: EventNameBytes[][] = []
  for (const [name, kind] of COUNTED_EVENTS) {
    const bytes = new TextEncoder().encode(name)
    for (let length = byLength.length; length <= bytes.length; length++) byLength.push([])
    byLength[bytes.length]!.push({ bytes, kind })
  }
  return byLength
}
