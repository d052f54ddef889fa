import { randomBytes } from 'node:crypto'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

/**
 * A browser-like client over `app.inject`, for every HTTP test: a cookie jar and CSRF handled the
 * way our own pages do it. The CSRF guard is on in tests exactly as in production; this agent is
 * how tests pass it, and `csrf: false` is how they prove it bites.
 *
 *   const agent = createAgent(t.app)
 *   await agent.post('/api/register', { json: { username, email, password } })
 *   const me = await agent.get('/api/me')
 *   const res = await agent.request({ method: 'DELETE', url: '/api/x', csrf: false })
 *
 * For unsafe methods the agent fetches `GET /csrf-token` lazily, sends the token in
 * `X-CSRFToken`, and fetches a new one after any response that changes the session cookie
 * (sign-in rotates the session, sign-out ends it). When its own cached token is refused as
 * expired (the test moved the clock past CSRF_TOKEN_TTL), or as invalid by a response that
 * ended the session, it fetches a new one and retries once. `csrf: '<token>'` never retries.
 */

export type AgentResponse = LightMyRequestResponse

export const SESSION_COOKIE_NAMES = ['lectern_session', '__Host-lectern_session'] as const

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export type MultipartPart =
  { name: string; value: string } | { name: string; filename: string; data: Buffer | string; contentType?: string }

export interface AgentRequestOptions {
  method: string
  url: string
  headers?: Record<string, string>
  /** A JSON body (sets content-type). */
  json?: unknown
  /** An application/x-www-form-urlencoded body. */
  form?: Record<string, string>
  /** A multipart/form-data body, parts in this order. */
  multipart?: MultipartPart[]
  /** Passed to inject as is (a string or Buffer with your content type, or an object sent as JSON). */
  payload?: InjectOptions['payload']
  /**
   * true (default): a valid token on unsafe methods; false: none at all; a string: exactly that
   * token (in the header, or in the field with `csrfIn: 'field'`).
   */
  csrf?: boolean | string
  /** Where the token goes: the `X-CSRFToken` header (default), or, for `form`/`multipart`, the first field `csrf_token`. */
  csrfIn?: 'header' | 'field'
  /** Sends no cookies with this request (the jar still takes what comes back). */
  withoutCookies?: boolean
}

type Shortcut = Omit<AgentRequestOptions, 'method' | 'url'>

export interface Agent {
  request(options: AgentRequestOptions): Promise<AgentResponse>
  get(url: string, options?: Shortcut): Promise<AgentResponse>
  head(url: string, options?: Shortcut): Promise<AgentResponse>
  options(url: string, options?: Shortcut): Promise<AgentResponse>
  post(url: string, options?: Shortcut): Promise<AgentResponse>
  put(url: string, options?: Shortcut): Promise<AgentResponse>
  patch(url: string, options?: Shortcut): Promise<AgentResponse>
  delete(url: string, options?: Shortcut): Promise<AgentResponse>
  /** The current token (fetched on first use and after the session changes). */
  csrfToken(): Promise<string>
  /** Fetches a new token now (a different string every time), and makes it the current one. */
  freshCsrfToken(): Promise<string>
  /** Forgets the cached token, so the next unsafe request fetches one. */
  forgetCsrfToken(): void
  /** The jar: name → value. */
  readonly cookies: Readonly<Record<string, string>>
  /** The session cookie's value (either name), or undefined. */
  sessionCookie(): string | undefined
  setCookie(name: string, value: string): void
  deleteCookie(name: string): void
  clearCookies(): void
}

export interface AgentOptions {
  /** Sent with every request (e.g. a user-agent, or X-Forwarded-For behind TRUST_PROXY). */
  headers?: Record<string, string>
}

export function createAgent(
  target: FastifyInstance | { app: FastifyInstance },
  agentOptions: AgentOptions = {},
): Agent {
  const app = 'inject' in target ? target : target.app
  const jar = new Map<string, string>()
  let token: string | null = null

  const sessionValue = () => {
    for (const name of SESSION_COOKIE_NAMES) {
      const value = jar.get(name)
      if (value !== undefined) return value
    }
    return undefined
  }

  const cookieHeader = () => [...jar.entries()].map(([name, value]) => `${name}=${value}`).join('; ')

  /** Takes the Set-Cookie headers in; a changed session cookie means tokens issued before are dead. */
  const absorb = (res: AgentResponse) => {
    const before = sessionValue()
    for (const cookie of res.cookies) {
      const expired =
        cookie.value === '' ||
        (cookie.maxAge !== undefined && cookie.maxAge <= 0) ||
        (cookie.expires instanceof Date && cookie.expires.getTime() <= 0)
      if (expired) jar.delete(cookie.name)
      else jar.set(cookie.name, cookie.value)
    }
    if (sessionValue() !== before) token = null
  }

  const send = async (options: AgentRequestOptions, csrfValue: string | null): Promise<AgentResponse> => {
    const method = options.method.toUpperCase()
    const headers: Record<string, string> = { ...agentOptions.headers }
    let payload: InjectOptions['payload']
    const inField = options.csrfIn === 'field' && csrfValue !== null

    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(options.json)
    } else if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      payload = formBody(options.form, inField ? csrfValue : undefined)
    } else if (options.multipart !== undefined) {
      const body = multipartBody(options.multipart, { csrfToken: inField ? csrfValue : undefined })
      Object.assign(headers, body.headers)
      payload = body.payload
    } else if (options.payload !== undefined) {
      payload = options.payload
    }
    if (csrfValue !== null && !inField) headers['x-csrftoken'] = csrfValue
    const cookies = cookieHeader()
    if (cookies && !options.withoutCookies) headers.cookie = cookies
    Object.assign(headers, options.headers)

    const res = await app.inject({
      method: method as InjectOptions['method'],
      url: options.url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    })
    absorb(res)
    return res
  }

  const freshCsrfToken = async () => {
    const res = await send({ method: 'GET', url: '/csrf-token' }, null)
    if (res.statusCode !== 200) {
      throw new Error(`GET /csrf-token answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
    }
    token = (res.json() as { csrf_token: string }).csrf_token
    return token
  }

  const csrfToken = async () => token ?? (await freshCsrfToken())

  const request = async (options: AgentRequestOptions) => {
    const unsafe = !SAFE_METHODS.has(options.method.toUpperCase())
    if (typeof options.csrf === 'string') return send(options, options.csrf)
    if (options.csrf === false || !unsafe) return send(options, null)
    const sessionBefore = sessionValue()
    const res = await send(options, await csrfToken())
    // As our page scripts do: when the agent's own cached token was refused because it aged out
    // (tests move the clock) or its session just ended, fetch a new one and retry once. The guard
    // refused before any processing, so the retry repeats nothing. An explicit token never retries.
    if (res.statusCode === 403 && res.headers['content-type']?.toString().includes('json')) {
      const error = (res.json() as { error?: string }).error
      const sessionEnded = sessionValue() !== sessionBefore
      if (error === 'CSRF token expired' || (error === 'CSRF token invalid' && sessionEnded)) {
        token = null
        return send(options, await csrfToken())
      }
    }
    return res
  }

  const shortcut =
    (method: string) =>
    (url: string, options: Shortcut = {}) =>
      request({ ...options, method, url })

  return {
    request,
    get: shortcut('GET'),
    head: shortcut('HEAD'),
    options: shortcut('OPTIONS'),
    post: shortcut('POST'),
    put: shortcut('PUT'),
    patch: shortcut('PATCH'),
    delete: shortcut('DELETE'),
    csrfToken,
    freshCsrfToken,
    forgetCsrfToken: () => {
      token = null
    },
    get cookies() {
      return Object.fromEntries(jar)
    },
    sessionCookie: sessionValue,
    setCookie: (name, value) => {
      jar.set(name, value)
    },
    deleteCookie: (name) => {
      jar.delete(name)
    },
    clearCookies: () => {
      jar.clear()
      token = null
    },
  }
}

/** An urlencoded body; `csrf_token` comes first when given, as our forms send it. */
export function formBody(fields: Record<string, string>, csrfToken?: string | null): string {
  const params = new URLSearchParams()
  if (csrfToken !== undefined && csrfToken !== null) params.append('csrf_token', csrfToken)
  for (const [name, value] of Object.entries(fields)) params.append(name, value)
  return params.toString()
}

/**
 * A multipart/form-data body with `csrf_token` as the first field when given (the contract
 * wants it before any file). Returns the payload and its content-type header.
 */
export function multipartBody(
  parts: MultipartPart[],
  options: { csrfToken?: string | null; boundary?: string } = {},
): { payload: Buffer; headers: { 'content-type': string } } {
  const boundary = options.boundary ?? `----lectern-test-${randomBytes(12).toString('hex')}`
  const all: MultipartPart[] =
    options.csrfToken !== undefined && options.csrfToken !== null
      ? [{ name: 'csrf_token', value: options.csrfToken }, ...parts]
      : parts
  const chunks: Buffer[] = []
  for (const part of all) {
    chunks.push(Buffer.from(`--${boundary}\r\n`))
    if ('filename' in part) {
      chunks.push(
        Buffer.from(
          `Content-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
      )
      chunks.push(typeof part.data === 'string' ? Buffer.from(part.data) : part.data)
    } else {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}`))
    }
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  }
}
