import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { requestTimedOut } from './errors.ts'
import { requestHook } from './hooks.ts'

export interface BodyDeadlineOptions {
  /** How long a request has, from its headers, to finish sending its body. */
  requestTimeoutMs: number
}

function bodyStillArriving(req: FastifyRequest): boolean {
  const length = req.headers['content-length']
  const declared = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  return declared && !req.raw.complete
}

/**
 * The request timeout, for bodies. Node's own (`server.requestTimeout`) is checked only every
 * 30 seconds, and once a request has been handed to the app all it can do is drop the
 * connection: a client trickling its body waited up to a minute past the timeout for no answer,
 * and no request_complete was logged, so the log analyzer and the metrics never saw it. Here a
 * body that has not fully arrived `requestTimeoutMs` after its headers gets the contract's 408
 * `Request timed out` through the one error handler (logged like every other answer), and the
 * connection is closed after it. Node's timeout stays behind this one as a backstop.
 */
export const bodyDeadline = fp(
  async (app: FastifyInstance, opts: BodyDeadlineOptions) => {
    app.addHook(
      'onRequest',
      requestHook(bodyStillArriving, (req: FastifyRequest, reply: FastifyReply) => {
        const timer = setTimeout(() => {
          // Answered already (a refusal before the body), fully received, or the client is gone.
          if (reply.sent || reply.raw.headersSent || req.raw.complete || req.raw.socket?.destroyed !== false) return
          reply.send(requestTimedOut())
        }, opts.requestTimeoutMs)
        timer.unref()
        // 'close': the body was read to its end, or the connection ended; either way the timer is moot.
        req.raw.once('close', () => clearTimeout(timer))
      }),
    )
  },
  { name: 'body-deadline', dependencies: ['request-context'] },
)
