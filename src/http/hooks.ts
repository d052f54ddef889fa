import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'

type Body<Args extends unknown[], R> = (...args: Args) => R | Promise<R>

function settle<R>(run: () => R | Promise<R>, finish: (error: unknown, value?: R) => void): void {
  let result: R | Promise<R>
  try {
    result = run()
  } catch (error) {
    finish(error)
    return
  }
  if (result instanceof Promise)
    result.then(
      (value) => finish(null, value),
      (error: unknown) => finish(error ?? new Error('hook rejected')),
    )
  else finish(null, result)
}

/**
 * An onRequest/preValidation/preHandler hook that concerns only some requests. Fastify runs an
 * `async` hook through a promise and a microtask on every request, even one it returns from at
 * once; this one lets the others pass synchronously and runs `body` (sync or async, throwing to
 * refuse) only for the requests `concerns` picks. Most requests of a server are GETs that no
 * CSRF, rate-limit or role check concerns (docs/adr/0013).
 */
export function requestHook(
  concerns: (req: FastifyRequest) => boolean,
  body: Body<[FastifyRequest, FastifyReply], void>,
) {
  return (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (!concerns(req)) {
      done()
      return
    }
    settle(
      () => body(req, reply),
      (error) => (error ? done(error as Error) : done()),
    )
  }
}

/** The same for onSend: the payload goes on unchanged for the requests `concerns` does not pick. */
export function sendHook(
  concerns: (req: FastifyRequest, reply: FastifyReply) => boolean,
  body: Body<[FastifyRequest, FastifyReply, unknown], unknown>,
) {
  return (
    req: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: Error | null, value?: unknown) => void,
  ): void => {
    if (!concerns(req, reply)) {
      done(null, payload)
      return
    }
    settle(
      () => body(req, reply, payload),
      (error, value) => (error ? done(error as Error) : done(null, value)),
    )
  }
}

/**
 * Adds a hook to one route's own hooks, from an onRoute hook, after those it already has. Route
 * hooks run after every app-level hook of the same stage, so a layer can put work only on the
 * routes that declare it and still run after the layers registered before it.
 */
export function appendRouteHook(
  route: RouteOptions,
  stage: 'onRequest' | 'preValidation' | 'preHandler' | 'onSend' | 'onError',
  hook: unknown,
): void {
  const existing = ([] as unknown[]).concat(route[stage] ?? [])
  ;(route as unknown as Record<string, unknown[]>)[stage] = [...existing, hook]
}
