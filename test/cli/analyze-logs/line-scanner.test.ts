import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ParsedLineFields,
  LINE_BLANK,
  LINE_NOT_AN_OBJECT,
  LINE_OBJECT,
  type LineFields,
} from '../../../src/cli/analyze-logs/fields.ts'
import { LogLineScanner } from '../../../src/cli/analyze-logs/line-scanner.ts'
import {
  EVENT_ABSENT,
  EVENT_OTHER,
  EVENT_REQUEST_COMPLETE,
  SECURITY_EVENT_BASE,
} from '../../../src/cli/analyze-logs/events.ts'
import { seededRandom } from '../../support/log-lines.ts'

function snapshot(fields: LineFields) {
  return {
    shape: fields.shape,
    timestampMs: fields.timestampMs,
    event: fields.event,
    statusCode: fields.statusCode,
    durationMs: fields.durationMs,
    path: fields.path(),
    errorMessage: fields.errorMessage(),
  }
}

const scanner = new LogLineScanner()
const reference = new ParsedLineFields()

/** Both readings of one line's bytes: the fast scanner's and JSON.parse's. */
function readBoth(bytes: Buffer) {
  // The scanner reads lines inside a larger chunk: surround the line to catch reads beyond it.
  const chunk = Buffer.concat([Buffer.from('{"x":1}\n'), bytes, Buffer.from('\n{"event":"request_complete"}\n')])
  const fast = snapshot(scanner.scan(chunk, 8, 8 + bytes.length))
  const slow = snapshot(reference.read(bytes.toString('utf8')))
  return { fast, slow }
}

function assertSameReading(line: string | Buffer) {
  const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line
  const { fast, slow } = readBoth(bytes)
  assert.deepEqual(fast, slow, `line: ${JSON.stringify(bytes.toString('latin1'))}`)
  return fast
}

const TS = '"timestamp":"2026-11-23T10:00:00.000Z"'
const TS_MS = Date.UTC(2026, 10, 23, 10, 0, 0)

describe('the fast line scanner reads every line as JSON.parse does', () => {
  test('a line as the server writes it', () => {
    const read = assertSameReading(
      `{"level":"WARNING",${TS},"event":"request_complete","request_id":"0b8e3c1e-6f0a-4c5e-9a55-0f1e2d3c4b5a","method":"GET","path":"/api/courses/x","remote_addr":"203.0.113.7","user_agent":"curl/8","user_id":null,"status_code":404,"duration_ms":12.5,"error":{"type":"NotFound","message":"Not found"}}`,
    )
    assert.deepEqual(read, {
      shape: LINE_OBJECT,
      timestampMs: TS_MS,
      event: EVENT_REQUEST_COMPLETE,
      statusCode: 404,
      durationMs: 12.5,
      path: '/api/courses/x',
      errorMessage: 'Not found',
    })
  })

  test('fields in any order, and whitespace (space, tab, CR) between every token', () => {
    const read = assertSameReading(
      ` \t{ "error" : { "message" : "Boom" , "type":"E" } ,\t"duration_ms":\t7 , "status_code" : 500 , "path":"/p" , "event" : "request_complete" , ${TS} } \r`,
    )
    assert.equal(read.statusCode, 500)
    assert.equal(read.errorMessage, 'Boom')
  })

  test('escaped quotes, backslashes and unicode in strings', () => {
    const tricky = [
      `{${TS},"event":"request_complete","path":"/a\\"b","status_code":400,"duration_ms":1,"error":{"message":"He said \\"no\\" \\\\ and left"}}`,
      `{${TS},"event":"request_complete","path":"C:\\\\","status_code":400,"duration_ms":1,"error":{"message":"\\\\"}}`,
      `{${TS},"event":"request_complete","path":"/café/日本/😀","status_code":400,"duration_ms":1,"error":{"message":"naïve \\u00e9 \\ud83d\\ude00 \\ud800 lone"}}`,
      `{${TS},"event":"request_complete","path":"\\/x\\b\\f\\n\\r\\t","status_code":400,"duration_ms":1,"error":{"message":"\\u0000\\u001F\\uABCD"}}`,
      `{${TS},"event":"request_complete","path":"/x\\",\\"event\\":\\"auth_failure","status_code":200,"duration_ms":1}`,
      `{${TS},"event":"request_complete","path":"del\u007f","status_code":400,"duration_ms":1,"error":{"message":"é"}}`,
    ]
    for (const line of tricky) assertSameReading(line)
    assert.equal(assertSameReading(tricky[0] as string).errorMessage, 'He said "no" \\ and left')
    assert.equal(assertSameReading(tricky[4] as string).event, EVENT_REQUEST_COMPLETE)
  })

  test('escaped keys and escaped event names mean what they spell', () => {
    const read = assertSameReading(`{${TS},"ev\\u0065nt":"request\\u005fcomplete","status_code":200,"duration_ms":3}`)
    assert.equal(read.event, EVENT_REQUEST_COMPLETE)
    assertSameReading(`{${TS},"event":"auth\\u005ffailure"}`)
    assertSameReading(`{${TS},"event":"x","error":{"mess\\u0061ge":"hi"}}`)
    assertSameReading(`{"time\\u0073tamp":"2026-11-23T10:00:00.000Z","event":"logout"}`)
  })

  test('the last of duplicate keys wins', () => {
    const read = assertSameReading(
      `{${TS},"event":"auth_failure","event":"request_complete","status_code":"200","status_code":201,"duration_ms":5,"duration_ms":null,"path":"/a","path":1,"error":{"message":"one"},"error":{"message":"two","message":3}}`,
    )
    assert.equal(read.event, EVENT_REQUEST_COMPLETE)
    assert.equal(read.statusCode, 201)
    assert.ok(Number.isNaN(read.durationMs))
    assert.equal(read.path, null)
    assert.equal(read.errorMessage, null)
    assertSameReading(`{${TS},"error":{"message":"kept"},"error":"replaced"}`)
    assertSameReading(`{${TS},"timestamp":7}`)
  })

  test('wanted names nested deeper are not the line’s own fields', () => {
    const read = assertSameReading(
      `{"extra":{"event":"request_complete","status_code":500,"timestamp":"2026-01-01T00:00:00.000Z","error":{"message":"inner"}},${TS},"event":"request_received","error":{"type":"x","detail":{"message":"deep"}}}`,
    )
    assert.equal(read.event, EVENT_OTHER)
    assert.equal(read.timestampMs, TS_MS)
    assert.equal(read.errorMessage, null)
  })

  test('values of the wrong type read as absent', () => {
    for (const line of [
      `{${TS},"event":"request_complete","status_code":"500","duration_ms":"12"}`,
      `{${TS},"event":null,"status_code":true,"duration_ms":false}`,
      `{${TS},"event":["request_complete"],"path":{"p":1}}`,
      `{${TS},"event":"request_complete","error":"Not found"}`,
      `{${TS},"event":"request_complete","error":["x"]}`,
      `{${TS},"event":"request_complete","error":null}`,
      `{${TS},"event":"request_complete","error":{}}`,
      `{${TS},"event":"request_complete","error":{"type":"T"}}`,
      `{${TS},"event":"request_complete","error":{"message":null}}`,
      `{"timestamp":1795428930123,"event":"request_complete"}`,
      `{"event":"request_complete"}`,
      `{}`,
    ]) {
      assertSameReading(line)
    }
    assert.equal(assertSameReading(`{${TS},"event":7}`).event, EVENT_ABSENT)
    assert.equal(assertSameReading(`{${TS},"event":"password_changed"}`).event, SECURITY_EVENT_BASE + 8)
  })

  test('numbers: fractions, exponents, negative zero, huge and long ones', () => {
    const numbers = [
      '0',
      '-0',
      '12',
      '12.5',
      '0.1',
      '0.000123',
      '-3.25',
      '1.5e2',
      '1E-3',
      '2e+2',
      '123456789012345',
      '1234567890123456789',
      '0.12345678901234567890',
      '1e400',
      '-1e400',
      '5e-324',
      '99999999999999999999.5',
      '1.0000000000000002',
    ]
    for (const n of numbers) {
      const read = assertSameReading(`{${TS},"event":"request_complete","status_code":${n},"duration_ms":${n}}`)
      assert.ok(Object.is(read.durationMs, JSON.parse(n)), n)
    }
    for (const bad of ['01', '1.', '.5', '+1', '-', '1e', '1e+', '0x10', 'NaN', 'Infinity', '1.2.3', '--1', '1e5.5']) {
      assert.equal(
        assertSameReading(`{${TS},"event":"request_complete","duration_ms":${bad}}`).shape,
        LINE_NOT_AN_OBJECT,
        bad,
      )
    }
  })

  test('random decimals of up to 20 digits convert exactly as JSON.parse converts them', () => {
    const random = seededRandom(3)
    for (let round = 0; round < 20000; round++) {
      const length = 1 + Math.floor(random() * 20)
      let digits = ''
      for (let d = 0; d < length; d++) digits += Math.floor(random() * 10)
      const dot = Math.floor(random() * length)
      const text = `${random() < 0.2 ? '-' : ''}${digits.slice(0, dot + 1).replace(/^0+(?=\d)/, '')}${dot + 1 < length ? `.${digits.slice(dot + 1)}` : ''}`
      const read = assertSameReading(`{${TS},"event":"request_complete","status_code":200,"duration_ms":${text}}`)
      assert.ok(Object.is(read.durationMs, JSON.parse(text)), text)
    }
  })

  test('literals and nesting in fields the analyzer does not read', () => {
    assertSameReading(
      `{${TS},"event":"x","a":true,"b":false,"c":null,"d":[],"e":{},"f":[1,[2,[3,{"g":[true,null]}]]],"h":[ 1 , 2 ]}`,
    )
    for (const bad of [
      'tru',
      'True',
      'nul',
      'fals',
      'nulll',
      '[1,]',
      '[,1]',
      '{"a"}',
      '{"a":}',
      '{"a":1,}',
      '{1:2}',
      "'x'",
      '[1 2]',
      '{"a":1 "b":2}',
    ]) {
      assert.equal(assertSameReading(`{${TS},"event":"x","v":${bad}}`).shape, LINE_NOT_AN_OBJECT, bad)
    }
  })

  test('nesting deeper than the scanner follows is left to JSON.parse', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
    assertSameReading(`{${TS},"event":"request_complete","status_code":200,"duration_ms":1,"extra":${deep(200)}}`)
    assert.equal(assertSameReading(`{${TS},"event":"x","extra":${deep(200).slice(0, -1)}}`).shape, LINE_NOT_AN_OBJECT)
  })

  test('lines that are not a JSON object', () => {
    const notObjects = [
      'plain text',
      'Error: something failed',
      '    at Object.<anonymous> (file.js:1:1)',
      `{${TS},"event":"request_complete","status_code":200`,
      `{${TS},"event":"request_complete"} trailing`,
      `{${TS}}{${TS}}`,
      `{${TS},}`,
      `{${TS},,"event":"x"}`,
      `{${TS} "event":"x"}`,
      `{"timestamp" "2026"}`,
      '[1,2,3]',
      '42',
      '"a string"',
      'null',
      'true',
      '\ufeff{}',
      `{${TS},"event":"req\tuest"}`,
      `{${TS},"event":"x\u0000"}`,
      `{${TS},"event":"\\x41"}`,
      `{${TS},"event":"\\u12"}`,
      `{${TS},"event":"\\u12G4"}`,
      `{${TS},"event":"unterminated}`,
      `{${TS},"event":"x"\\}`,
      '{',
      '}',
      '{"a":1}}',
    ]
    for (const line of notObjects) assert.equal(assertSameReading(line).shape, LINE_NOT_AN_OBJECT, line)
  })

  test('blank lines are blank, not skipped', () => {
    for (const line of ['', ' ', '\t', '\r', ' \t \r ']) assert.equal(assertSameReading(line).shape, LINE_BLANK)
  })

  test('invalid UTF-8 inside a string is replaced as the decoder does; outside one the line is invalid', () => {
    const inside = Buffer.concat([
      Buffer.from(`{${TS},"event":"request_complete","status_code":404,"duration_ms":1,"path":"/a`),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('","error":{"message":"'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from('"}}'),
    ])
    assert.equal(assertSameReading(inside).path, '/a\ufffd\ufffd')
    const outside = Buffer.concat([Buffer.from(`{${TS},"event":"x"`), Buffer.from([0xc3, 0xa9]), Buffer.from('}')])
    assert.equal(assertSameReading(outside).shape, LINE_NOT_AN_OBJECT)
  })

  test('timestamps in other forms, or impossible ones', () => {
    for (const ts of [
      '2026-11-23T10:00:00Z',
      '2026-11-23T10:00:00.5Z',
      '2026-11-23T10:00:00.123456Z',
      '2026-11-23T12:00:00.000+02:00',
      '2026-11-23T10:00:00.000-0000',
      '2026-02-30T10:00:00.000Z',
      '2026-11-23T24:00:00.000Z',
      '2026-11-23 10:00:00.000Z',
      '2026-11-23T10:00:00.000z',
      '2026-11-23',
      'yesterday',
      '',
      '2024-02-29T00:00:00.000Z',
      '2023-02-29T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '2026\\u002d11-23T10:00:00.000Z',
      '2026-11-23T10:00:6a.000Z',
      '2026-1a-23T10:00:00.000Z',
    ]) {
      assertSameReading(`{"timestamp":"${ts}","event":"logout"}`)
    }
  })

  test('thousands of randomly damaged lines read the same both ways', () => {
    const random = seededRandom(6)
    const bases = [
      `{"level":"ERROR",${TS},"event":"request_complete","request_id":"r-1","path":"/api/x","user_id":null,"status_code":503,"duration_ms":1234.5,"error":{"type":"E","message":"Database \\"down\\"","stack":"a\\nb"},"extra":{"list":[1,-2.5e3,true,null,{"k":"v"}]}}`,
      `{ "event" : "auth_failure" , ${TS} , "extra" : { "reason" : "bad\\u0020password" } }`,
      `{${TS},"event":"request_complete","path":"/é","status_code":200,"duration_ms":0.25,"error":null}`,
    ]
    const alphabet = Buffer.from('"\\{}[],: \t\r0123456789.-+eEtrufalsn/ux\u0000\u001f')
    const specials = [0xff, 0xc3, 0xa9, 0x00, 0x7f]
    let count = 0
    for (let round = 0; round < 6000; round++) {
      const base = Buffer.from(bases[round % bases.length] as string)
      let bytes = Buffer.from(base)
      const mutations = 1 + Math.floor(random() * 3)
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(random() * (bytes.length + 1))
        const kind = random()
        const pickByte = () =>
          random() < 0.9
            ? (alphabet[Math.floor(random() * alphabet.length)] as number)
            : (specials[Math.floor(random() * specials.length)] as number)
        if (kind < 0.35) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)])
        else if (kind < 0.7)
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([pickByte()]), bytes.subarray(at)])
        else if (kind < 0.9 && at < bytes.length) bytes[at] = pickByte()
        else bytes = bytes.subarray(0, at)
      }
      if (bytes.includes(0x0a)) continue
      assertSameReading(bytes)
      count++
    }
    assert.ok(count > 5000)
  })

  test('randomly built objects, in random order with random spacing, read the same both ways', () => {
    const random = seededRandom(11)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const space = () => pick(['', '', '', ' ', '\t', ' \r '])
    const values = [
      '"request_complete"',
      '"auth_failure"',
      '"x"',
      '200',
      '404.0',
      '-1',
      '1e2',
      'null',
      'true',
      '[]',
      '{}',
      '{"message":"m"}',
      '{"message":"\\"q\\""}',
      '"2026-11-23T10:00:00.000Z"',
      '"/p\\u00e9"',
      '[{"a":[1,{"b":null}]}]',
    ]
    const keys = ['timestamp', 'event', 'status_code', 'duration_ms', 'path', 'error', 'level', 'extra', 'message']
    for (let round = 0; round < 3000; round++) {
      const members: string[] = []
      const n = Math.floor(random() * 8)
      for (let k = 0; k < n; k++)
        members.push(`${space()}"${pick(keys)}"${space()}:${space()}${pick(values)}${space()}`)
      assertSameReading(`${space()}{${members.join(',')}}${space()}`)
    }
  })

  test('a line given without its newline after it is read the same', () => {
    const line = Buffer.from(`{${TS},"event":"request_complete","status_code":200,"duration_ms":1}`)
    assert.equal(new LogLineScanner().scan(line, 0, line.length).statusCode, 200)
  })
})
