import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sizeLabel } from '../../src/web/pages/profile.routes.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { makePng, makePngHeaderClaiming } from '../support/images.ts'
import { createPageClient, formToken, formsOf, tagOf, textOf, type PageClient } from './pages-support.ts'

const PASSWORD = 'correct horse battery staple'
const XSS = '<script>alert(1)</script>'
/** Small, so an oversized picture is cheap to make. */
const MAX_UPLOAD_BYTES = 64 * 1024

describe('pages: /profile, details, password and picture (CONTRACT §5, §6)', () => {
  let t: TestApp
  let png: Buffer

  async function signUp(username: string): Promise<PageClient> {
    const browser = createPageClient(t.app)
    await browser.open('/register')
    const res = await browser.submit('/register', { username, email: `${username}@example.com`, password: PASSWORD })
    assert.equal(res.statusCode, 303)
    await browser.open('/profile')
    return browser
  }

  /** Posts the picture form as a browser does: csrf_token first (or `token: null` for none). */
  async function upload(browser: PageClient, file: Buffer, options: { token?: string | null; filename?: string } = {}) {
    const token = options.token === undefined ? formToken(browser.html) : options.token
    return browser.agent.post('/profile/avatar', {
      multipart: [{ name: 'avatar', filename: options.filename ?? 'me.png', data: file, contentType: 'image/png' }],
      csrf: token ?? false,
      csrfIn: 'field',
    })
  }

  before(async () => {
    t = await buildTestApp({
      env: { RATE_LIMIT_REGISTER: '100/1h', RATE_LIMIT_AVATAR: '100/1h', MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) },
    })
    png = await makePng(64, 48)
  })
  after(() => t.close())

  test('signed out, /profile leads to sign in and back', async () => {
    const res = await createPageClient(t.app).open('/profile')
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/login?next=%2Fprofile')
  })

  test('three forms, each with its token first; the picture form is multipart and says what it takes', async () => {
    const browser = await signUp('ada')
    const forms = formsOf(browser.html)
    for (const action of ['/profile/avatar', '/profile', '/profile/password']) {
      const form = forms.find((f) => f.action === action)
      assert.ok(form?.hasToken && form.tokenFirst, action)
    }
    assert.match(forms.find((f) => f.action === '/profile/avatar')!.html, /enctype="multipart\/form-data"/)
    const input = tagOf(browser.html, 'avatar-avatar') ?? ''
    assert.match(input, /type="file" accept="image\/png,image\/jpeg,image\/gif"/)
    assert.match(input, new RegExp(`data-max-bytes="${MAX_UPLOAD_BYTES}"`))
    assert.match(input, /aria-describedby="avatar-avatar-hint avatar-avatar-error"/)
    assert.match(input, /data-max-size="64 KB"/)
    assert.match(textOf(browser.html, 'avatar-avatar-hint') ?? '', /^A JPEG, PNG or GIF up to 64 KB\./)
  })

  test('sizes read as people read them', () => {
    assert.equal(sizeLabel(5 * 1024 * 1024), '5 MB')
    assert.equal(sizeLabel(1.5 * 1024 * 1024), '1.5 MB')
    assert.equal(sizeLabel(256 * 1024), '256 KB')
    assert.equal(sizeLabel(1000), '1000 bytes')
  })

  test('details: saved and shown escaped; a bad email or a control character is explained next to its field', async () => {
    const browser = await signUp('brian')
    const saved = await browser.submit('/profile', {
      display_name: XSS,
      bio: 'Likes "quotes" & <b>tags</b>',
      email: 'brian@example.org',
    })
    assert.equal(saved.statusCode, 303)
    assert.equal(saved.headers.location, '/profile?notice=profile-saved')
    const page = await browser.follow(saved)
    assert.match(page.body, /Your profile is saved/)
    assert.match(tagOf(page.body, 'field-display_name') ?? '', /value="&lt;script&gt;alert\(1\)&lt;\/script&gt;"/)
    assert.match(page.body, />Likes &quot;quotes&quot; &amp; &lt;b&gt;tags&lt;\/b&gt;<\/textarea>/)
    assert.ok(!page.body.includes(XSS))

    const bad = await browser.submit('/profile', { display_name: 'x', bio: '', email: 'nope' })
    assert.equal(bad.statusCode, 400)
    assert.match(textOf(bad.body, 'field-email-error') ?? '', /valid email address/)
    assert.match(tagOf(bad.body, 'field-email') ?? '', /value="nope"/)
    const control = await browser.submit('/profile', { display_name: 'a\u202eb', bio: '', email: 'brian@example.org' })
    assert.equal(control.statusCode, 400)
    assert.match(
      textOf(control.body, 'field-display_name-error') ?? '',
      /^Error: Display name must not contain control/,
    )
  })

  test('password: a wrong current one is said next to it; a change signs out the other devices', async () => {
    const browser = await signUp('carla')
    const laptop = createPageClient(t.app)
    await laptop.open('/login')
    await laptop.submit('/login', { username: 'carla', password: PASSWORD })
    assert.equal((await laptop.open('/me')).statusCode, 200)

    const wrong = await browser.submit('/profile/password', {
      current_password: 'not it at all',
      new_password: 'another long passphrase',
    })
    assert.equal(wrong.statusCode, 400)
    assert.equal(textOf(wrong.body, 'password-current_password-error'), 'Error: Current password is incorrect.')
    assert.doesNotMatch(wrong.body, /not it at all|another long passphrase/)
    const common = await browser.submit('/profile/password', {
      current_password: PASSWORD,
      new_password: 'password123',
    })
    assert.equal(common.statusCode, 400)
    assert.match(textOf(common.body, 'password-new_password-error') ?? '', /too common/)

    const changed = await browser.submit('/profile/password', {
      current_password: PASSWORD,
      new_password: 'another long passphrase',
    })
    assert.equal(changed.statusCode, 303)
    assert.equal(changed.headers.location, '/profile?notice=password-changed')
    assert.equal((await browser.open('/profile')).statusCode, 200, 'this device stays signed in')
    assert.equal((await laptop.open('/me')).statusCode, 303, 'the other one is signed out')
  })

  test('a picture: uploaded with the token first, then shown from its avatar URL', async () => {
    const browser = await signUp('dora')
    const res = await upload(browser, png)
    assert.equal(res.statusCode, 303)
    assert.equal(res.headers.location, '/profile?notice=avatar-updated')
    const page = await browser.follow(res)
    const src = /<img class="avatar" id="current-avatar" src="(\/avatars\/\d+\/[0-9a-f]{16}\.png)"/.exec(page.body)?.[1]
    assert.ok(src, 'the current picture is shown')
    const image = await browser.agent.get(src)
    assert.equal(image.statusCode, 200)
    assert.equal(image.headers['content-type'], 'image/png')
  })

  test('refused pictures are explained next to the field, and nothing is stored', async () => {
    const browser = await signUp('emil')
    const cases: Array<[Buffer, number, RegExp]> = [
      [Buffer.alloc(MAX_UPLOAD_BYTES + 1024, 1), 413, /^Error: File too large$/],
      [makePngHeaderClaiming(5000, 10), 400, /^Error: Image dimensions too large$/],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 400, /^Error: Unsupported image format$/],
    ]
    for (const [file, status, message] of cases) {
      const res = await upload(browser, file)
      assert.equal(res.statusCode, status)
      assert.match(textOf(res.body, 'avatar-avatar-error') ?? '', message)
      assert.match(tagOf(res.body, 'avatar-avatar') ?? '', /aria-invalid="true"/)
      assert.match(res.body, /<span class="avatar avatar--placeholder" id="current-avatar"/)
      assert.ok(t.events('upload_rejected').some((line) => line.request_id === res.headers['x-request-id']))
    }
  })

  test('a picture form without its token, or with the token after the file: 403, "the form expired" next to the field', async () => {
    const browser = await signUp('fred')
    const none = await upload(browser, png, { token: null })
    assert.equal(none.statusCode, 403)
    assert.match(textOf(none.body, 'avatar-avatar-error') ?? '', /The form expired, please try again\./)
    const late = await browser.agent.post('/profile/avatar', {
      multipart: [
        { name: 'avatar', filename: 'me.png', data: png, contentType: 'image/png' },
        { name: 'csrf_token', value: formToken(browser.html) },
      ],
      csrf: false,
    })
    assert.equal(late.statusCode, 403)
    assert.match(textOf(late.body, 'avatar-avatar-error') ?? '', /The form expired/)
    assert.equal((await browser.agent.get('/api/me')).json().user.avatar_url, null)
  })

  test('the CSP lets the page preview a local picture (blob:) and nothing inline', async () => {
    const res = await createPageClient(t.app).open('/login')
    const csp = String(res.headers['content-security-policy'])
    assert.match(csp, /img-src 'self' data: blob:/)
    assert.match(csp, /script-src 'self'(;|$)/)
    assert.match(csp, /style-src 'self'(;|$)/)
  })
})
