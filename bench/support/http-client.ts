import http from 'node:http'

/**
 * HTTP for the benchmarks, over loopback only: one request with its latency, and a client that
 * behaves like one browser (a cookie jar, a CSRF token fetched before each unsafe request).
 */

export interface Reply {
  status: number
  body: string
  setCookie: string[]
  ms: number
}

export function sendOver(
  agent: http.Agent,
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Reply> {
  const url = new URL(path, base)
  if (!/^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname)) throw new Error(`refusing ${url}: loopback only`)
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...headers,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
            : {}),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            setCookie: res.headers['set-cookie'] ?? [],
            ms: performance.now() - start,
          }),
        )
      },
    )
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(payload)
  })
}

/** One browser: a cookie jar, a CSRF token fetched before each unsafe request, as our pages do. */
export function browserClient(agent: http.Agent, base: string) {
  let cookie = ''
  const absorb = (reply: Reply) => {
    for (const line of reply.setCookie) {
      const [pair] = line.split(';')
      if (pair?.includes('session')) cookie = pair.endsWith('=') ? '' : pair
    }
    return reply
  }
  const headers = (): Record<string, string> => (cookie ? { cookie } : {})
  return {
    get: async (path: string) => absorb(await sendOver(agent, base, 'GET', path, headers())),
    async post(path: string, body: unknown) {
      const token = JSON.parse(absorb(await sendOver(agent, base, 'GET', '/csrf-token', headers())).body)
        .csrf_token as string
      return absorb(await sendOver(agent, base, 'POST', path, { ...headers(), 'x-csrftoken': token }, body))
    },
  }
}
