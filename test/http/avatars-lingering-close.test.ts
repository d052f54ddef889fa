/**
 * The graceful close behind an early 413 (src/http/uploads/lingering-close.ts), on a bare
 * node:http server that answers before it reads the body, as the upload route does, with small
 * bounds: the client reads the answer, and the server's reading of what follows stays within them.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import { test, type TestContext } from 'node:test'
import {
  createLingeringCloser,
  type LingerLimits,
  type LingeringCloser,
} from '../../src/http/uploads/lingering-close.ts'

const ANSWER = '{"error":"File too large"}'
/** Longer than any test may take: when a test sees the socket closed, the timer did not do it. */
const NEVER_MS = 60_000

async function refusingServer(
  t: TestContext,
  limits: LingerLimits,
): Promise<{ port: number; closer: LingeringCloser }> {
  const closer = createLingeringCloser(limits)
  const server = createServer((req, res) => {
    closer.arm(req)
    res.writeHead(413, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(ANSWER),
      connection: 'close',
    })
    res.end(ANSWER)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    closer.closeAll()
    await new Promise((resolve) => server.close(resolve))
  })
  return { port: (server.address() as AddressInfo).port, closer }
}

/** Writes the request and `sendBytes` of its body before reading anything, then reads until the server closes. */
function writeAllThenRead(port: number, declaredBytes: number, sendBytes: number) {
  return new Promise<{ text: string; ending: 'end' | 'error' }>((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1')
    const received: Buffer[] = []
    const finish = (ending: 'end' | 'error') => () => {
      socket.destroy()
      resolve({ text: Buffer.concat(received).toString('latin1'), ending })
    }
    socket.on('error', finish('error'))
    socket.pause()
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${declaredBytes}\r\n\r\n`)
    const chunk = Buffer.alloc(64 * 1024, 1)
    let written = 0
    const pump = () => {
      while (written < sendBytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, sendBytes - written))
        written += piece.length
        if (!socket.write(piece)) {
          socket.once('drain', pump)
          return
        }
      }
      socket.on('data', (data: Buffer) => received.push(data))
      socket.on('end', finish('end'))
      socket.resume()
    }
    pump()
  })
}

/** Sends a little of a long body, reads the answer and the server's FIN, and keeps its own side open. */
function stalledClient(port: number, closer: LingeringCloser) {
  return new Promise<{ text: string; lingeringAfterAnswer: number; socket: Socket }>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    let text = ''
    socket.on('error', () => {})
    socket.on('data', (data: Buffer) => (text += data.toString('latin1')))
    socket.on('end', () => resolve({ text, lingeringAfterAnswer: closer.count, socket }))
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc')
  })
}

async function untilNoneLinger(closer: LingeringCloser) {
  while (closer.count > 0) await new Promise((resolve) => setImmediate(resolve))
}

test(
  'a client that writes its whole body before reading gets the answer, then a clean close',
  { timeout: 5_000 },
  async (t) => {
    const { port, closer } = await refusingServer(t, { maxDiscardBytes: 4 * 1024 * 1024, maxLingerMs: NEVER_MS })
    const outcome = await writeAllThenRead(port, 1024 * 1024, 1024 * 1024)
    assert.equal(outcome.ending, 'end')
    assert.match(outcome.text, /^HTTP\/1\.1 413 /)
    assert.match(outcome.text, /connection: close/i)
    assert.ok(outcome.text.endsWith(ANSWER))
    await untilNoneLinger(closer) // once the body is in: long before the timer
  },
)

test('past maxDiscardBytes the server stops reading and cuts the connection', { timeout: 5_000 }, async (t) => {
  const { port } = await refusingServer(t, { maxDiscardBytes: 1024 * 1024, maxLingerMs: NEVER_MS })
  const outcome = await writeAllThenRead(port, 64 * 1024 * 1024, 64 * 1024 * 1024)
  assert.equal(outcome.ending, 'error', 'the client could not send all 64 MB')
})

test('a client that stops sending but stays connected is cut after maxLingerMs', { timeout: 5_000 }, async (t) => {
  const { port, closer } = await refusingServer(t, { maxDiscardBytes: 1024 * 1024, maxLingerMs: 200 })
  const { text, lingeringAfterAnswer, socket } = await stalledClient(port, closer)
  assert.match(text, /^HTTP\/1\.1 413 /, 'the answer and the FIN came at once')
  assert.equal(lingeringAfterAnswer, 1, 'then the server lingers on the unfinished body')
  await untilNoneLinger(closer) // nothing else happens: only the timer can end it
  socket.destroy()
})

test('closeAll ends every lingering connection at once (shutdown)', { timeout: 5_000 }, async (t) => {
  const { port, closer } = await refusingServer(t, { maxDiscardBytes: 1024 * 1024, maxLingerMs: NEVER_MS })
  const { lingeringAfterAnswer, socket } = await stalledClient(port, closer)
  assert.equal(lingeringAfterAnswer, 1)
  closer.closeAll()
  await untilNoneLinger(closer)
  socket.destroy()
})

test('requests made in-process (no socket) are left alone', () => {
  const closer = createLingeringCloser()
  const injected = Object.assign(Readable.from([]), { socket: {}, complete: false })
  closer.arm(injected as never)
  assert.equal(closer.count, 0)
})
