import type { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'

export interface LingerLimits {
  /** Request bytes read and thrown away after the answer, at most, before the socket is cut. */
  maxDiscardBytes: number
  /** How long the socket may stay half-open after the answer, at most. */
  maxLingerMs: number
}

/**
 * Enough for a client that writes a body of tens of megabytes before it reads our answer (as
 * Python's http.client does) to still read it, while a refused request costs at most this much
 * reading, and on the upload route at most RATE_LIMIT_AVATAR times an hour per account. Node
 * alone would read such a body to its end (to keep the connection), for up to requestTimeout.
 */
export const DEFAULT_LINGER_LIMITS: Readonly<LingerLimits> = Object.freeze({
  maxDiscardBytes: 128 * 1024 * 1024,
  maxLingerMs: 10_000,
})

/** Whether the request's body is still on its way over a real socket (injected requests have none). */
export function bodyStillArriving(raw: IncomingMessage): boolean {
  return raw.socket instanceof Socket && raw.complete === false && !raw.socket.destroyed
}

/**
 * A graceful close for answers sent before their request body has fully arrived (a 413 for an
 * oversized upload, a 401 or 403 in front of one), as RFC 9112 §9.6 describes.
 *
 * Node closes a `Connection: close` socket as soon as the answer is flushed. With request
 * bytes still arriving, or unread in the kernel, that close becomes a TCP reset, and a client
 * still busy sending reads ECONNRESET instead of our 413 (a reset can also discard the answer
 * in flight). So instead: the answer goes out at once followed by our FIN (half-close), and
 * the rest of the body is read and thrown away, never parsed or kept, until the client
 * finishes or closes, or a bound is reached, and only then is the socket closed.
 */
export function createLingeringCloser(limits: LingerLimits = DEFAULT_LINGER_LIMITS) {
  const lingering = new Set<Socket>()

  function arm(raw: IncomingMessage): void {
    const socket = raw.socket
    if (!bodyStillArriving(raw) || lingering.has(socket)) return
    lingering.add(socket)

    let discardedBytes = 0
    let answered = false
    let clientDone = false
    const cut = () => socket.destroy()
    const closeIfDone = () => {
      if (answered && clientDone) cut()
    }
    const timer = setTimeout(cut, limits.maxLingerMs)
    timer.unref()
    socket.once('close', () => {
      clearTimeout(timer)
      lingering.delete(socket)
    })

    raw.unpipe() // no parser sees another byte of this body
    raw.on('data', (chunk: Buffer) => {
      discardedBytes += chunk.length
      if (discardedBytes > limits.maxDiscardBytes) cut()
    })
    const clientFinished = () => {
      clientDone = true
      closeIfDone()
    }
    raw.once('end', clientFinished)
    raw.on('error', clientFinished) // aborted by the client: nothing left to wait for
    socket.once('end', clientFinished)
    raw.resume()

    // Node calls this once the `Connection: close` answer is flushed (http server, resOnFinish).
    socket.destroySoon = function halfCloseThenLinger(this: Socket) {
      if (this.writable) this.end()
      const flushed = () => {
        answered = true
        closeIfDone()
      }
      if (this.writableFinished) flushed()
      else this.once('finish', flushed)
    }
  }

  return {
    arm,
    /** Sockets lingering now. */
    get count() {
      return lingering.size
    },
    /** Shutdown: nobody waits for a lingering client. */
    closeAll(): void {
      for (const socket of lingering) socket.destroy()
    },
  }
}

export type LingeringCloser = ReturnType<typeof createLingeringCloser>
