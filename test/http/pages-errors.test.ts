import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { BROWSER_ACCEPT, createPageClient, formToken, formsOf, inlineCodeIn, tagOf } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'
const HOUR_MS = 60 * 60 * 1000

function completion(t: TestApp, res: { headers: Record<string, unknown> }) {
  return t.events('request_complete').find((line) => line.request_id === res.headers['x-request-id'])
}

describe('pages: friendly errors, one error handler (CONTRACT §6)', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp({
      routes: (app) => {
        app.get('/test/page-boom', { config: { access: 'public', html: true } }, async () => {
          throw new Error('database password is hunter2')
        })
        app.get('/test/private-page', { config: { html: true, access: 'user' } }, async () => 'secret')
        app.get('/test/admin-page', { config: { html: true, access: 'admin' } }, async () => 'secret')
      },
    })
    const api = createAgent(t.app)
    await api.post('/api/register', { json: { username: 'grace', email: 'grace@example.com', password: PASSWORD } })
  })
  after(() => t.close())

  test('a browser asking for an unknown page gets the HTML 404; the API and scripts keep JSON', async () => {
    const browser = createPageClient(t.app)
    const page = await browser.open('/no/such/page')
    assert.equal(page.statusCode, 404)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    assert.match(page.body, /<h1 id="error-heading">Page not found<\/h1>/)
    assert.deepEqual(completion(t, page)?.error, { type: 'HttpError', message: 'Not found' })

    const api = await t.app.inject({ method: 'GET', url: '/api/no/such', headers: { accept: BROWSER_ACCEPT } })
    assert.equal(api.statusCode, 404)
    assert.deepEqual(api.json(), { error: 'Not found', request_id: api.headers['x-request-id'] })
    const script = await t.app.inject({ method: 'GET', url: '/no/such/page', headers: { accept: '*/*' } })
    assert.equal(script.json().error, 'Not found')
  })

  test('500 on a page: an apology and the request id to quote, never the internal message', async () => {
    const res = await createPageClient(t.app).open('/test/page-boom')
    assert.equal(res.statusCode, 500)
    assert.match(res.body, /Something went wrong/)
    assert.ok(res.body.includes(`<code>${String(res.headers['x-request-id'])}</code>`))
    assert.doesNotMatch(res.body, /hunter2/)
    assert.deepEqual(completion(t, res)?.error, { type: 'Error', message: 'Internal server error' })
    assert.ok(t.events('unhandled_error').some((line) => line.request_id === res.headers['x-request-id']))
  })

  test('signed out, a page that needs an account sends the browser to sign in and back', async () => {
    const res = await createPageClient(t.app).open('/test/private-page?tab=2')
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, `/login?next=${encodeURIComponent('/test/private-page?tab=2')}`)
  })

  test('403 for a page above the role: the friendly page, logged as permission_denied', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    await browser.submit('/login', { username: 'grace', password: PASSWORD })
    const res = await browser.open('/test/admin-page')
    assert.equal(res.statusCode, 403)
    assert.match(res.body, /<h1 id="error-heading">Not allowed<\/h1>/)
    assert.deepEqual(completion(t, res)?.error, { type: 'HttpError', message: 'Forbidden' })
  })

  test('a form posted after its token expired: 403, the same form again, fields kept, a fresh token that works', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    const oldToken = formToken(browser.html)
    t.clock.advance(HOUR_MS + 1)
    const expired = await browser.submit('/login', { username: 'grace', password: PASSWORD })
    assert.equal(expired.statusCode, 403)
    assert.match(expired.body, /role="alert"[\s\S]*The form expired, please try again\./)
    assert.match(tagOf(expired.body, 'field-username') ?? '', /value="grace"/)
    assert.doesNotMatch(expired.body, new RegExp(PASSWORD))
    assert.deepEqual(completion(t, expired)?.error, { type: 'HttpError', message: 'CSRF token expired' })
    const fresh = formToken(expired.body)
    assert.notEqual(fresh, oldToken)
    const again = await browser.submit('/login', { username: 'grace', password: PASSWORD })
    assert.equal(again.statusCode, 303)
  })

  test('a button form without a token of its own: the friendly page offers to send it again', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    await browser.submit('/login', { username: 'grace', password: PASSWORD })
    const res = await browser.submit('/logout', { note: '<b>kept</b>' }, { token: null })
    assert.equal(res.statusCode, 403)
    assert.match(res.body, /The form expired, please try again\./)
    const retry = formsOf(res.body).find((form) => form.action === '/logout' && form.html.includes('Try again'))
    assert.ok(retry?.hasToken && retry.tokenFirst, 'a retry form with a fresh token')
    assert.match(retry.html, /name="note" value="&lt;b&gt;kept&lt;\/b&gt;"/)
    assert.equal((await browser.submit('/logout', { note: 'x' }, { token: formToken(retry.html) })).statusCode, 303)
  })

  test('the sixth sign-in attempt in the window shows the rate-limit page: 429, Retry-After, minutes to wait', async () => {
    const browser = createPageClient(t.app)
    const statuses: number[] = []
    let last
    for (let attempt = 1; attempt <= 6; attempt++) {
      await browser.open('/login')
      last = await browser.submit('/login', { username: 'nobody', password: 'wrong password' })
      statuses.push(last.statusCode)
    }
    // Grace signed in above counted too: the policy counts every attempt from this address.
    assert.equal(statuses.at(-1), 429)
    assert.ok(statuses.slice(0, 2).every((status) => status === 401 || status === 303))
    assert.match(String(last!.headers['retry-after']), /^\d+$/)
    // The form again, with which limit, why, and when: the rate-limit pages of the sign-in form.
    assert.match(last!.body, /Too many failed sign-in attempts came from your network\./)
    assert.match(last!.body, /try again in \d+ minutes?, at \d\d:\d\d UTC\./)
    assert.match(tagOf(last!.body, 'field-username') ?? '', /value="nobody"/)
    assert.equal(last!.headers['ratelimit-remaining'], '0')
    assert.match(
      String(completion(t, last!)?.error && (completion(t, last!)!.error as { message: string }).message),
      /^Rate limit exceeded/,
    )
    // The JSON API shares the counter: a form is no way around the limit.
    const api = await createAgent(t.app).post('/api/login', { json: { username: 'grace', password: PASSWORD } })
    assert.equal(api.statusCode, 429)
    t.clock.advance(16 * 60 * 1000)
  })

  test('a cross-site form post without a session cookie: refused, and no Set-Cookie (no forced sign-out)', async () => {
    const crossSite = [
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { origin: 'https://evil.example' }, // a browser without Fetch Metadata: the Origin alone
      { 'sec-fetch-site': 'same-site' },
    ]
    for (const url of ['/login', '/logout', '/register']) {
      for (const headers of crossSite) {
        const res = await t.app.inject({
          method: 'POST',
          url,
          headers: { ...headers, accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'username=mallory&password=whatever',
        })
        assert.equal(res.statusCode, 403, `${url} ${JSON.stringify(headers)}`)
        assert.match(res.body, /The form expired/)
        assert.equal(res.headers['set-cookie'], undefined, `${url} ${JSON.stringify(headers)}`)
        assert.deepEqual(formsOf(res.body), [], 'no form, so no token and no session')
      }
    }
    // Nor does a refused form post without any Origin or Sec-Fetch-Site prove it came from us.
    const bare = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=mallory',
    })
    assert.equal(bare.statusCode, 403)
    assert.equal(bare.headers['set-cookie'], undefined)
  })

  test('a same-origin form whose session is gone: the form again with a fresh session and token that work', async () => {
    const browser = createPageClient(t.app)
    await browser.open('/login')
    const stale = formToken(browser.html)
    browser.agent.clearCookies() // the browser dropped the session cookie (it outlived its lifetime)
    const sameOrigin = { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' }
    const expired = await browser.agent.post('/login', {
      form: { username: 'grace', password: PASSWORD },
      csrf: stale,
      csrfIn: 'field',
      headers: sameOrigin,
    })
    assert.equal(expired.statusCode, 403)
    assert.match(String(expired.headers['set-cookie']), /lectern_session=/)
    assert.match(tagOf(expired.body, 'field-username') ?? '', /value="grace"/)
    const again = await browser.agent.post('/login', {
      form: { username: 'grace', password: PASSWORD },
      csrf: formToken(expired.body),
      csrfIn: 'field',
      headers: sameOrigin,
    })
    assert.equal(again.statusCode, 303)
  })

  test('every page: lang set, no inline script or style (the CSP stays strict), CSP without unsafe-inline', async () => {
    const browser = createPageClient(t.app)
    for (const url of ['/login', '/register', '/no/such/page', '/test/page-boom']) {
      const res = await browser.open(url)
      assert.match(res.body, /^<!doctype html>\n<html lang="en">/, url)
      assert.deepEqual(inlineCodeIn(res.body), [], url)
      const csp = String(res.headers['content-security-policy'])
      assert.match(csp, /script-src 'self'/)
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
    }
  })
})

describe('assets: hashed URLs, strong ETags, a year of caching', () => {
  let t: TestApp
  before(async () => {
    t = await buildTestApp()
  })
  after(() => t.close())

  test('the stylesheet, script and icon a page names are served with their type, ETag and immutable caching', async () => {
    const page = await createPageClient(t.app).open('/login')
    const urls = [
      /<link rel="stylesheet" href="(\/assets\/styles\.[0-9a-f]{16}\.css)">/.exec(page.body)?.[1],
      /<script type="module" src="(\/assets\/app\.[0-9a-f]{16}\.js)"><\/script>/.exec(page.body)?.[1],
      /<link rel="icon" href="(\/assets\/icon\.[0-9a-f]{16}\.svg)"/.exec(page.body)?.[1],
    ]
    const types = [/^text\/css/, /^text\/javascript/, /^image\/svg\+xml/]
    for (const [index, url] of urls.entries()) {
      assert.ok(url, `asset ${index} named in the page`)
      const res = await t.app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, 200, url)
      assert.match(String(res.headers['content-type']), types[index]!)
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
      const etag = String(res.headers.etag)
      assert.match(etag, /^"[0-9a-f]{16}"$/, 'a strong validator')
      assert.ok(url.includes(etag.slice(1, -1)), 'the URL carries the content hash')
      const again = await t.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
      assert.equal(again.statusCode, 304)
      assert.equal(again.body, '')
    }
    const stale = await t.app.inject({ method: 'GET', url: '/assets/styles.0000000000000000.css' })
    assert.equal(stale.statusCode, 404)
  })

  test('the script bundle is one minified ES module with every enhancement', async () => {
    const page = await createPageClient(t.app).open('/login')
    const url = /src="(\/assets\/app\.[0-9a-f]{16}\.js)"/.exec(page.body)![1]!
    const js = (await t.app.inject({ method: 'GET', url })).body
    assert.ok(js.length > 500 && js.split('\n').length < 5, 'minified')
    assert.doesNotMatch(js, /^import |\bimport\s*\(/m, 'bundled: no imports left')
    for (const needle of ['X-CSRFToken', '/csrf-token', 'CSRF token expired', 'data-reader', 'createObjectURL']) {
      assert.ok(js.includes(needle), needle)
    }
  })
})
