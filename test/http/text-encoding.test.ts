import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, type TestApp } from '../support/app.ts'
import { createWork, MANY_USERS_ENV, signedIn, type SignedInUser } from '../support/factories.ts'

interface IllFormedText {
  /** What goes between the quotes of a JSON string: `\ud800` and friends, escapes of lone surrogates. */
  json_escapes: string[]
  /** Escapes whose bytes are not UTF-8 (surrogates, stray bytes, truncated and overlong sequences). */
  percent_encoded: string[]
  /** The same, as raw bytes in a body. */
  raw_bytes_hex: string[]
}

const FIXTURE = JSON.parse(
  readFileSync(new URL('../fixtures/ill-formed-text.json', import.meta.url), 'utf8'),
) as IllFormedText
const MESSAGE = 'Invalid text encoding'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }
const BROWSER = { accept: 'text/html' }

/** A JSON body `{…fields, [field]: "<text>"}` with `text` spliced in raw: an escape, or bytes. */
function jsonWith(fields: Record<string, string>, field: string, text: Buffer): Buffer {
  const head = JSON.stringify({ ...fields, [field]: 'MARK' }).split('MARK')
  return Buffer.concat([Buffer.from(head[0]!), text, Buffer.from(head[1]!)])
}

/** An urlencoded body with `text` spliced raw into `field`'s value. */
function formWith(fields: Record<string, string>, field: string, text: Buffer): Buffer {
  const head = new URLSearchParams({ ...fields, [field]: 'MARK' }).toString().split('MARK')
  return Buffer.concat([Buffer.from(head[0]!), text, Buffer.from(head[1]!)])
}

/** Every ill-formed input of the fixture, as it would be spliced into a JSON body and into a form. */
const jsonInputs = [
  ...FIXTURE.json_escapes.map((escape) => ({ name: `JSON escape ${escape}`, text: Buffer.from(escape) })),
  ...FIXTURE.raw_bytes_hex.map((hex) => ({ name: `raw bytes ${hex}`, text: Buffer.from(hex, 'hex') })),
]
const formInputs = [
  ...FIXTURE.percent_encoded.map((escaped) => ({ name: `escaped ${escaped}`, text: Buffer.from(escaped) })),
  ...FIXTURE.raw_bytes_hex.map((hex) => ({ name: `raw bytes ${hex}`, text: Buffer.from(hex, 'hex') })),
]

describe('text that is not well-formed Unicode is refused, never stored', () => {
  let t: TestApp
  let learner: SignedInUser
  let instructor: SignedInUser

  before(async () => {
    t = await buildTestApp({ env: MANY_USERS_ENV })
    learner = await signedIn(t, 'learner')
    instructor = await signedIn(t, 'instructor')
    await createWork(t.database.db, 'course', {
      slug: 'web',
      title: 'The web',
      parts: ['One'],
      owners: [instructor.id],
    })
  })
  after(() => t.close())

  const userCount = async () =>
    Number(
      (
        await t.database.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )
  const courseTitles = async () =>
    (await t.database.db.selectFrom('courses').select('title').orderBy('title').execute()).map((row) => row.title)
  const displayName = async () => (await learner.agent.get('/api/me')).json().user.display_name as string | null

  function assertRefusedJson(
    res: { statusCode: number; json(): unknown; headers: Record<string, unknown> },
    what: string,
  ) {
    assert.equal(res.statusCode, 400, what)
    assert.deepEqual(res.json(), { error: MESSAGE, request_id: res.headers['x-request-id'] }, what)
  }

  test('JSON bodies: POST /api/register, PATCH /api/profile, the course editor API → 400, nothing stored', async () => {
    const users = await userCount()
    const titles = await courseTitles()
    const name = await displayName()
    for (const { name: what, text } of jsonInputs) {
      const register = await createAgent(t.app).post('/api/register', {
        headers: JSON_TYPE,
        payload: jsonWith(
          { username: 'mallory', email: 'mallory@example.org' },
          'password',
          Buffer.concat([Buffer.from('a long passphrase '), text]),
        ),
      })
      assertRefusedJson(register, `register, ${what}`)
      const profile = await learner.agent.patch('/api/profile', {
        headers: JSON_TYPE,
        payload: jsonWith({}, 'display_name', text),
      })
      assertRefusedJson(profile, `profile, ${what}`)
      const create = await instructor.agent.post('/api/courses', {
        headers: JSON_TYPE,
        payload: jsonWith({}, 'title', Buffer.concat([Buffer.from('New '), text])),
      })
      assertRefusedJson(create, `course create, ${what}`)
      const rename = await instructor.agent.patch('/api/courses/web', {
        headers: JSON_TYPE,
        payload: jsonWith({}, 'title', text),
      })
      assertRefusedJson(rename, `course rename, ${what}`)
    }
    assert.equal(await userCount(), users)
    assert.deepEqual(await courseTitles(), titles)
    assert.equal(await displayName(), name)
  })

  test('form posts: /register, /profile and the course editor → 400 page, nothing stored', async () => {
    const users = await userCount()
    const titles = await courseTitles()
    const name = await displayName()
    for (const { name: what, text } of formInputs) {
      const register = await createAgent(t.app).post('/register', {
        headers: { ...FORM, ...BROWSER },
        payload: formWith(
          { username: 'mallory', email: 'mallory@example.org', password: 'a long passphrase' },
          'display_name',
          text,
        ),
      })
      assert.equal(register.statusCode, 400, `register page, ${what}`)
      assert.match(register.body, new RegExp(MESSAGE))
      const profile = await learner.agent.post('/profile', {
        headers: { ...FORM, ...BROWSER },
        payload: formWith({ bio: '' }, 'display_name', text),
      })
      assert.equal(profile.statusCode, 400, `profile page, ${what}`)
      assert.match(profile.body, new RegExp(MESSAGE))
      const create = await instructor.agent.post('/admin/courses', {
        headers: { ...FORM, ...BROWSER },
        payload: formWith({ slug: 'evil', description: '' }, 'title', text),
      })
      assert.equal(create.statusCode, 400, `course editor, ${what}`)
      assert.match(create.body, new RegExp(MESSAGE))
    }
    assert.equal(await userCount(), users)
    assert.deepEqual(await courseTitles(), titles)
    assert.equal(await displayName(), name)
  })

  test('query strings → 400 "Invalid text encoding"; path parameters → 400 "Malformed URL"', async () => {
    for (const escaped of FIXTURE.percent_encoded) {
      assertRefusedJson(await learner.agent.get(`/api/courses?q=${escaped}`), `query ${escaped}`)
      const path = await learner.agent.get(`/api/courses/${escaped}`)
      assert.equal(path.statusCode, 400, `path ${escaped}`)
      assert.equal(path.json().error, 'Malformed URL')
    }
  })

  test('well-formed text beyond ASCII still passes, every way, and is stored as sent', async () => {
    const sent = 'Zoë 😀 ąę'
    // Every UTF-16 unit beyond ASCII as a \u escape: the emoji arrives as its (well-formed) pair.
    const units = Array.from({ length: sent.length }, (_, i) => sent.charCodeAt(i))
    const escaped = units.map((u) => (u < 0x7f ? String.fromCharCode(u) : `\\u${u.toString(16).padStart(4, '0')}`))
    const json = await learner.agent.patch('/api/profile', {
      headers: JSON_TYPE,
      payload: `{"display_name":"${escaped.join('')}"}`,
    })
    assert.equal(json.statusCode, 200, json.body)
    assert.equal(await displayName(), sent)
    const form = await learner.agent.post('/profile', {
      headers: { ...FORM, ...BROWSER },
      payload: new URLSearchParams({ display_name: `${sent}!`, bio: '', email: learner.email }).toString(),
    })
    assert.equal(form.statusCode, 303, form.body)
    assert.equal(await displayName(), `${sent}!`)
    const query = await learner.agent.get(`/api/courses?q=${encodeURIComponent(sent)}&pct=100%`)
    assert.equal(query.statusCode, 200)
  })
})
