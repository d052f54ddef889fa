// bench/http/headers.ts: what Node costs per response for each header set, without a socket.
// Usage: node --import tsx bench/http/headers.ts [--responses N]
//
// Builds the head of a response as Node does for every response (ServerResponse.writeHead:
// each header name and value validated, then joined), with the headers a bare JSON answer has,
// with Lectern's data set (JSON) and with its document set (pages), each plus X-Request-ID.
// Prints ns per response; rounds alternate so that a drifting machine shifts all sets alike.
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { parseArgs } from 'node:util'
import { DATA_SECURITY_HEADERS, DOCUMENT_SECURITY_HEADERS } from '../../src/security/headers.ts'

const { values } = parseArgs({ options: { responses: { type: 'string', default: '200000' } } })
const responses = Math.min(2_000_000, Math.max(1000, Number(values.responses)))
const ROUNDS = 7

const BARE = 'bare JSON (content-type, content-length)'
const sets: Record<string, Record<string, string>> = {
  [BARE]: {},
  'data set (JSON) + X-Request-ID': DATA_SECURITY_HEADERS,
  'document set (pages) + X-Request-ID': DOCUMENT_SECURITY_HEADERS,
}
const request = new IncomingMessage(new Socket())
request.httpVersionMajor = 1
request.httpVersionMinor = 1

/** The headers Fastify hands to writeHead for one response: built once, as only writeHead is timed. */
function headersOf(security: Record<string, string>, withRequestId: boolean): Record<string, string | number> {
  const headers: Record<string, string | number> = { ...security }
  if (withRequestId) headers['x-request-id'] = '9b2f4c1e-3d5a-4e6f-8a7b-0c1d2e3f4a5b'
  headers['content-type'] = 'application/json; charset=utf-8'
  headers['content-length'] = 15
  return headers
}

function writeHeads(headers: Record<string, string | number>): number {
  let bytes = 0
  for (let i = 0; i < responses; i++) {
    const response = new ServerResponse(request)
    response.writeHead(200, headers)
    bytes += (response as unknown as { _header: string })._header.length
  }
  return bytes / responses
}

const samples = new Map<string, number[]>(Object.keys(sets).map((name) => [name, []]))
const headBytes = new Map<string, number>()
for (let round = 0; round < ROUNDS; round++) {
  const names = Object.keys(sets)
  if (round % 2 === 1) names.reverse()
  for (const name of names) {
    const started = process.hrtime.bigint()
    headBytes.set(name, writeHeads(headersOf(sets[name]!, name !== BARE)))
    samples.get(name)!.push(Number(process.hrtime.bigint() - started) / responses)
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const bare = median(samples.get(BARE)!)
console.log(
  `ServerResponse.writeHead, ${responses} responses per set, median of ${ROUNDS} rounds, Node ${process.version}\n`,
)
for (const [name, ns] of samples) {
  const headerCount = Object.keys(sets[name]!).length + (name.startsWith('bare') ? 2 : 3)
  console.log(
    `${name.padEnd(42)} ${String(headerCount).padStart(2)} headers  ${String(headBytes.get(name)).padStart(4)} bytes  ` +
      `${median(ns).toFixed(0).padStart(5)} ns/response  (+${(median(ns) - bare).toFixed(0)} over bare)`,
  )
}
