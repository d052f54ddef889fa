/**
 * CSRF tokens in the browser (CONTRACT §4). The page carries its token in
 * `<meta name="csrf-token" content="…" data-ttl-seconds="…">` and in each form's hidden
 * `csrf_token` field. Scripts send it in `X-CSRFToken`; when the server refuses it as expired or
 * invalid (the token aged out, or the session changed in another tab), a fresh one is fetched
 * from GET /csrf-token and the request is sent once more. The refusal happens before the server
 * does anything, so the retry repeats nothing.
 */

/** The refusals worth one retry with a fresh token; "CSRF token missing" is a bug, not an age. */
const RETRYABLE_REFUSALS = new Set(['CSRF token expired', 'CSRF token invalid'])

export interface CsrfClient {
  /** fetch() with the token in X-CSRFToken, retried once with a fresh token after a 403 expired/invalid. */
  fetch(url: string, init?: RequestInit): Promise<Response>
  /** Fetches a new token and puts it everywhere the page holds one (the meta tag and every form). */
  refresh(): Promise<string>
  /** True when the page's token is past half its lifetime by this page's clock: refresh before posting. */
  isStale(): boolean
}

type Fetch = (url: string, init?: RequestInit) => Promise<Response>

export function createCsrfClient(doc: Document, fetchImpl: Fetch, now: () => number = Date.now): CsrfClient {
  const meta = doc.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')
  let token: string | null = meta?.content || null
  let receivedAtMs = now()
  const ttlMs = Number(meta?.dataset.ttlSeconds ?? 0) * 1000

  async function refresh(): Promise<string> {
    const res = await fetchImpl('/csrf-token', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    })
    if (!res.ok) throw new Error(`GET /csrf-token answered ${res.status}`)
    const body = (await res.json()) as { csrf_token?: unknown }
    if (typeof body.csrf_token !== 'string') throw new Error('GET /csrf-token sent no token')
    token = body.csrf_token
    receivedAtMs = now()
    if (meta) meta.content = token
    for (const input of doc.querySelectorAll<HTMLInputElement>('input[name="csrf_token"]')) input.value = token
    return token
  }

  async function refusal(res: Response): Promise<string | null> {
    if (res.status !== 403) return null
    try {
      const body = (await res.clone().json()) as { error?: unknown }
      return typeof body.error === 'string' ? body.error : null
    } catch {
      return null
    }
  }

  async function csrfFetch(url: string, init: RequestInit = {}): Promise<Response> {
    const send = (value: string) => {
      const headers = new Headers(init.headers)
      headers.set('X-CSRFToken', value)
      return fetchImpl(url, { ...init, headers, credentials: 'same-origin' })
    }
    const first = await send(token ?? (await refresh()))
    const reason = await refusal(first)
    if (reason === null || !RETRYABLE_REFUSALS.has(reason)) return first
    return send(await refresh())
  }

  return {
    fetch: csrfFetch,
    refresh,
    isStale: () => ttlMs > 0 && now() - receivedAtMs > ttlMs / 2,
  }
}

/**
 * A form left open for a long time (a long bio, a lesson read slowly) must not be lost to an
 * expired token: when the page's token is past half its lifetime, a fresh one is put in before
 * the form goes. Without JavaScript, or if the refresh fails, the form posts as it is and the
 * server shows it again with "The form expired, please try again" and the fields kept.
 */
export function keepFormsFresh(doc: Document, csrf: CsrfClient): void {
  const refreshed = new WeakSet<HTMLFormElement>()
  doc.addEventListener('submit', (event) => {
    const form = event.target
    // A form a script sends itself (fetch) has already been handled.
    if (event.defaultPrevented || !(form instanceof HTMLFormElement) || refreshed.has(form)) return
    if (!form.querySelector('input[name="csrf_token"]') || !csrf.isStale()) return
    event.preventDefault()
    const submitter = event instanceof SubmitEvent ? event.submitter : null
    void csrf
      .refresh()
      .catch(() => undefined)
      .then(() => {
        refreshed.add(form)
        form.requestSubmit(submitter instanceof HTMLElement ? submitter : undefined)
        refreshed.delete(form)
      })
  })
}
