import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../../config/index.ts'
import type { Database } from '../../db/schema.ts'
import { requestEvent } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import { SECURITY_EVENT_LEVEL } from '../../logging/events.ts'
import { clearSessionCookie, isSecureRequest, sessionCookieName, setSessionCookie } from './cookie.ts'
import { defaultSessionPolicy, type SessionPolicy } from './policy.ts'
import { createSessionStore, type ResolvedSession, type SessionStore } from './store.ts'
import type { RequestSession, SessionAdmin } from './types.ts'

export interface SessionsOptions {
  db: Kysely<Database>
  clock: Clock
  config: Pick<Config, 'cookieSecure' | 'csrfTokenTtlMs'>
  /** Defaults to defaultSessionPolicy(config.csrfTokenTtlMs). */
  policy?: SessionPolicy
}

interface CurrentSession {
  idHash: string
  userId: number | null
}

/** The session of one request. Created by the onRequest hook; the cookie is written through the reply. */
class Session implements RequestSession {
  #current: CurrentSession | null
  #creating: Promise<string> | null = null

  private readonly req: FastifyRequest
  private readonly reply: FastifyReply
  private readonly store: SessionStore
  private readonly secure: boolean

  constructor(
    req: FastifyRequest,
    reply: FastifyReply,
    store: SessionStore,
    secure: boolean,
    current: CurrentSession | null,
  ) {
    this.req = req
    this.reply = reply
    this.store = store
    this.secure = secure
    this.#current = current
  }

  get id(): string | null {
    return this.#current?.idHash ?? null
  }

  /** The signed-in user of this session, or null (anonymous or none). */
  get userId(): number | null {
    return this.#current?.userId ?? null
  }

  async ensure(): Promise<string> {
    if (this.#current) return this.#current.idHash
    // Two callers in one request must not create two sessions.
    this.#creating ??= this.#start(null).finally(() => (this.#creating = null))
    return this.#creating
  }

  async signIn(userId: number): Promise<void> {
    const user = await this.store.activeUser(userId)
    if (!user) throw new Error(`signIn: user ${userId} does not exist or is disabled`)
    // Rotation: the pre-login id (which someone else may know) dies here, and with it every CSRF
    // token bound to it. The new value comes from the CSPRNG, never from the request.
    if (this.#current) await this.store.delete(this.#current.idHash)
    this.#current = null
    await this.#start(userId)
    this.req.user = { id: user.id, role: user.role }
  }

  async signOut(): Promise<void> {
    if (this.#current) await this.store.delete(this.#current.idHash)
    this.#current = null
    clearSessionCookie(this.reply, this.secure)
    // req.user stays as it was for the rest of this request, so the logout's own log lines
    // still say who signed out; the next request has no session.
  }

  async #start(userId: number | null): Promise<string> {
    const created = await this.store.create(userId)
    this.#current = { idHash: created.idHash, userId }
    setSessionCookie(this.reply, this.secure, created.value, created.absoluteLifetimeMs / 1000)
    return created.idHash
  }
}

/**
 * Server-side sessions (CONTRACT §3, docs/adr/0008). Resolves the cookie once per request in
 * onRequest, right after the request context, and sets `req.session` and `req.user`, so the
 * CSRF guard, authorization and every log line after it know the session and the user.
 */
export const sessions = fp(
  async (app: FastifyInstance, opts: SessionsOptions) => {
    const { config, clock } = opts
    const policy = opts.policy ?? defaultSessionPolicy(config.csrfTokenTtlMs)
    const store = createSessionStore({ db: opts.db, clock, policy })

    // Parsing only: no signing secret (the value is a random id checked against the database).
    await app.register(fastifyCookie, { hook: 'onRequest' })

    const admin: SessionAdmin = {
      endAllForUser: (userId, options = {}) => store.deleteAllForUser(userId, options.except?.session?.id ?? null),
    }
    app.decorate('sessions', admin)
    app.decorateRequest('session', null as unknown as RequestSession)

    const attach = (req: FastifyRequest, reply: FastifyReply, secure: boolean, resolved: ResolvedSession | null) => {
      req.session = new Session(
        req,
        reply,
        store,
        secure,
        resolved ? { idHash: resolved.idHash, userId: resolved.userId } : null,
      )
      req.user = resolved?.user ? { id: resolved.user.id, role: resolved.user.role } : null
    }

    const resolveCookie = async (req: FastifyRequest, reply: FastifyReply, secure: boolean, value: string) => {
      let resolved = await store.find(value)
      if (resolved && resolved.userId !== null && (resolved.user === null || resolved.user.disabled)) {
        // A disabled account has no valid session: this one ends now, whichever device it is on.
        await store.delete(resolved.idHash)
        requestEvent(req, SECURITY_EVENT_LEVEL.auth_failure, 'auth_failure', {
          user_id: resolved.userId,
          extra: { reason: 'account_disabled', via: 'session_cookie' },
        })
        resolved = null
      }
      // Unknown, expired or ended: tell the browser to stop sending it.
      if (resolved === null) clearSessionCookie(reply, secure)
      else await store.touch(resolved)
      attach(req, reply, secure, resolved)
    }

    // A callback hook: a request without a session cookie (most first visits, health checks,
    // assets) is settled synchronously; only a cookie costs a database lookup.
    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const secure = isSecureRequest(req, config.cookieSecure)
      // Over HTTPS only the __Host- cookie counts: a plain-named one may have been planted.
      const value = req.cookies[sessionCookieName(secure)]
      if (value === undefined || value === '') {
        attach(req, reply, secure, null)
        done()
        return
      }
      resolveCookie(req, reply, secure, value).then(
        () => done(),
        (error: Error) => done(error),
      )
    })
  },
  { name: 'sessions', dependencies: ['request-context'] },
)
