import { isIPv4, isIPv6 } from 'node:net'

/** Every IPv6 client is counted per /64: a single host is routinely handed a whole prefix. */
export const IPV6_CLIENT_PREFIX_BITS = 64

const IPV6_GROUPS = 8
const PREFIX_GROUPS = IPV6_CLIENT_PREFIX_BITS / 16

/**
 * The eight 16-bit groups of an IPv6 address (zone id dropped, `::` expanded, a dotted IPv4
 * tail turned into two groups), or null when it is not one.
 */
function ipv6Groups(address: string): number[] | null {
  const withoutZone = address.split('%', 1)[0]!
  if (!isIPv6(withoutZone)) return null
  let text = withoutZone.toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)))
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(IPV6_GROUPS - left.length - right.length).fill(0), ...right]
}

function isIPv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff
}

/**
 * The rate-limit key of a client address (`req.ip`, which already follows TRUST_PROXY):
 * IPv4 as it is; an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, what a dual-stack socket
 * reports) as the IPv4 address it carries, so one client has one key whichever stack it used;
 * any other IPv6 address as its /64 (`2001:db8:1:2::/64`), since rotating through the 2^64
 * addresses of one's own prefix must not buy a fresh quota each time.
 */
export function clientKey(ip: string): string {
  if (isIPv4(ip)) return ip
  const groups = ipv6Groups(ip)
  if (groups === null) return ip // not an IP address (a Unix socket peer): one key for it
  if (isIPv4Mapped(groups)) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  }
  return `${compressIPv6([...groups.slice(0, PREFIX_GROUPS), 0, 0, 0, 0])}/${IPV6_CLIENT_PREFIX_BITS}`
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run of zero groups as `::`. */
function compressIPv6(groups: number[]): string {
  let bestStart = -1
  let bestLength = 1 // a single zero group is never compressed
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i += 1
      continue
    }
    let end = i
    while (end < groups.length && groups[end] === 0) end += 1
    if (end - i > bestLength) {
      bestStart = i
      bestLength = end - i
    }
    i = end
  }
  const hex = groups.map((group) => group.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}
