import { multipartBody, type MultipartPart } from './agent.ts'

/**
 * A browser-like client over real sockets (fetch), for tests of server processes: one cookie
 * jar shared by every base URL it talks to, as a browser behind one proxy host would share it,
 * and the CSRF token fetched from whichever instance it is told.
 */
export interface HttpResponse {
  status: number
  headers: Headers
  body: Buffer
  json<T = Record<string, unknown>>(): T
}

export function createHttpClient() {
  const jar = new Map<string, string>()

  function remember(headers: Headers) {
    for (const cookie of headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /expires=thu, 01 jan 1970/i.test(a))
      if (expired || value === '') jar.delete(name)
      else jar.set(name, value)
    }
  }

  async function request(
    url: string,
    init: {
      method?: string
      json?: unknown
      multipart?: MultipartPart[]
      csrf?: string
      headers?: Record<string, string>
      body?: Buffer
    } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...init.headers }
    if (jar.size > 0) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
    if (init.csrf) headers['x-csrftoken'] = init.csrf
    let body: Buffer | string | undefined = init.body
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(init.json)
    }
    if (init.multipart) {
      const built = multipartBody(init.multipart)
      headers['content-type'] = built.headers['content-type']
      body = built.payload
    }
    // A Buffer is a Uint8Array, which fetch accepts; Node's types only list the DOM body kinds.
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body)
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body: payload, redirect: 'manual' })
    remember(response.headers)
    const buffer = Buffer.from(await response.arrayBuffer())
    return {
      status: response.status,
      headers: response.headers,
      body: buffer,
      json: <T>() => JSON.parse(buffer.toString('utf8')) as T,
    }
  }

  return {
    request,
    cookies: jar,
    async csrfToken(baseUrl: string): Promise<string> {
      const res = await request(`${baseUrl}/csrf-token`)
      return res.json<{ csrf_token: string }>().csrf_token
    },
    /** An unsafe request with a token fetched from `tokenFrom` (default: the same instance). */
    async send(
      baseUrl: string,
      method: string,
      path: string,
      init: { json?: unknown; multipart?: MultipartPart[]; tokenFrom?: string } = {},
    ) {
      const csrf = await this.csrfToken(init.tokenFrom ?? baseUrl)
      return request(`${baseUrl}${path}`, { method, json: init.json, multipart: init.multipart, csrf })
    },
  }
}

export type HttpClient = ReturnType<typeof createHttpClient>
