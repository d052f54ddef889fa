import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'

const REQUEST_TIMEOUT_MS = 300
/** Far below Node's own check (every 30 s), far above the timeout: a 408 inside it is the app's. */
const ANSWER_BOUND_MS = 3000

interface Exchange {
  head: string
  body: string
  elapsedMs: number
}

/**
 * Writes `head`, then each of `bodyChunks` `gapMs` apart, then nothing; resolves with what the
 * server wrote before it closed the connection (or, when `closeAfterAnswer`, once a full answer came).
 */
function exchange(port: number, head: string, bodyChunks: string[], gapMs = 0): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now()
    const writeAll = async () => {
      socket.write(head)
      for (const chunk of bodyChunks) {
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs))
        socket.write(chunk)
      }
    }
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      writeAll().catch(reject)
    })
    let received = ''
    const giveUp = setTimeout(() => socket.destroy(new Error('no answer within the bound')), ANSWER_BOUND_MS * 2)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
      // A keep-alive answer (the body came in time) is complete once its declared length is in.
      const [answerHead = '', answerBody = ''] = received.split('\r\n\r\n')
      const length = Number(/^content-length: (\d+)$/im.exec(answerHead)?.[1])
      if (!/^connection: close$/im.test(answerHead) && Buffer.byteLength(answerBody) === length) socket.end()
    })
    socket.on('error', (error) => {
      clearTimeout(giveUp)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(giveUp)
      const [answerHead = '', body = ''] = received.split('\r\n\r\n')
      resolve({ head: answerHead, body, elapsedMs: performance.now() - startedAt })
    })
  })
}

describe('the request timeout covers the body (CONTRACT §3: never a hang)', () => {
  let t: TestApp
  let port: number
  let credentials: string

  before(async () => {
    t = await buildTestApp({
      deps: { requestTimeoutMs: REQUEST_TIMEOUT_MS },
      routes: (app) => {
        app.post('/test/echo', { config: { access: 'public' } }, async (req) => ({ body: req.body }))
      },
    })
    port = Number(new URL(await t.app.listen({ port: 0, host: '127.0.0.1' })).port)
    const agent = createAgent(t.app)
    const token = await agent.csrfToken()
    credentials = `X-CSRFToken: ${token}\r\nCookie: lectern_session=${agent.sessionCookie()}\r\n`
  })
  after(() => t.close())

  function linesOf(requestId: string | undefined) {
    return t.logs().filter((line) => line.request_id === requestId)
  }

  test('a body that stops arriving: 408 with the error body at the timeout, one request_complete, then close', async () => {
    const head =
      'POST /test/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Content-Length: 100000\r\n${credentials}\r\n`
    const answer = await exchange(port, head, ['{"a":'])

    assert.match(answer.head, /^HTTP\/1\.1 408 /)
    assert.match(answer.head, /^connection: close$/im)
    const id = /^x-request-id: (\S+)$/im.exec(answer.head)?.[1]
    assert.deepEqual(JSON.parse(answer.body), { error: 'Request timed out', request_id: id })
    assert.ok(answer.elapsedMs >= REQUEST_TIMEOUT_MS - 20, `answered after ${answer.elapsedMs} ms`)
    assert.ok(answer.elapsedMs < ANSWER_BOUND_MS, `answered after ${answer.elapsedMs} ms`)

    const lines = linesOf(id)
    assert.deepEqual(
      lines.map((line) => [line.event, line.method, line.path]),
      [
        ['request_received', 'POST', '/test/echo'],
        ['request_complete', 'POST', '/test/echo'],
      ],
    )
    assert.equal(lines[1]!.status_code, 408)
    assert.deepEqual(lines[1]!.error, { type: 'HttpError', message: 'Request timed out' })
  })

  test('a body that finishes in time, even in pieces: answered as usual, and nothing fires later', async () => {
    const payload = JSON.stringify({ note: 'in time' })
    const head =
      'POST /test/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${payload.length}\r\n${credentials}\r\n`
    const answer = await exchange(port, head, [payload.slice(0, 5), payload.slice(5)], REQUEST_TIMEOUT_MS / 3)
    assert.match(answer.head, /^HTTP\/1\.1 200 /)
    assert.deepEqual(JSON.parse(answer.body), { body: { note: 'in time' } })
    const id = /^x-request-id: (\S+)$/im.exec(answer.head)?.[1]

    // Past the timeout, the finished request has still only its two lines.
    await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS * 2))
    const lines = linesOf(id)
    assert.deepEqual(
      lines.map((line) => [line.event, line.status_code]),
      [
        ['request_received', undefined],
        ['request_complete', 200],
      ],
    )
  })
})
