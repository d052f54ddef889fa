import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createPasskeysRepository } from '../../src/modules/passkeys/passkeys.repository.ts'
import { CHALLENGE_TTL_MS } from '../../src/modules/passkeys/passkeys.service.ts'
import { createPasskeySecondFactor } from '../../src/modules/passkeys/second-factor.ts'
import { createAgent } from '../support/agent.ts'
import { buildTestApp, withApp, type TestApp } from '../support/app.ts'
import { MANY_USERS_ENV, signedIn } from '../support/factories.ts'
import {
  addPasskey,
  createSoftAuthenticator,
  PASSKEY_ORIGIN,
  PASSKEY_PUBLIC_URL,
  PASSKEY_RP_ID,
  passkeySignIn,
  registrationAnswer,
  signInOptions,
} from '../support/passkeys.ts'
import { FLAG_USER_PRESENT, FLAG_USER_VERIFIED } from '../support/webauthn.ts'

const ENV = { ...MANY_USERS_ENV, PUBLIC_URL: PASSKEY_PUBLIC_URL }

/** The reason of the last auth_failure line, where the log says why a passkey was refused. */
function lastFailureReason(t: TestApp): unknown {
  const failures = t.events('auth_failure')
  return (failures.at(-1)?.extra as { reason?: unknown } | undefined)?.reason
}

describe('passkeys (CONTRACT §11)', () => {
  let t: TestApp
  const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })
  before(async () => {
    t = await buildTestApp({ env: ENV })
  })
  after(() => t.close())

  test('creation options: relying party = PUBLIC_URL host (never the Host header), verified, discoverable, random user id', async () => {
    const ada = await signedIn(t)
    const res = await ada.agent.post('/api/passkeys/registration/options', { headers: { host: 'evil.example' } })
    assert.equal(res.statusCode, 200, res.body)
    const options = res.json()
    assert.equal(options.rp.id, PASSKEY_RP_ID)
    assert.equal(options.user.name, ada.username)
    assert.notEqual(options.user.id, Buffer.from(String(ada.id)).toString('base64url'))
    assert.ok(Buffer.from(options.user.id, 'base64url').length >= 32, 'a random user handle, not the numeric id')
    assert.equal(options.authenticatorSelection.residentKey, 'required')
    assert.equal(options.authenticatorSelection.userVerification, 'required')
    assert.deepEqual(options.excludeCredentials, [])
    // The same account keeps its handle.
    const again = (await ada.agent.post('/api/passkeys/registration/options')).json()
    assert.equal(again.user.id, options.user.id)
    assert.notEqual(again.challenge, options.challenge)
  })

  test('add, list, sign out, sign in with it: 200 {user}, a rotated session, auth_success method "passkey"', async () => {
    const ada = await signedIn(t)
    const { credential, id } = await addPasskey(ada.agent, device, '  Laptop  ')
    const added = t.events('passkey_added').at(-1)!
    assert.equal((added.extra as { key_id: number }).key_id, id)
    assert.equal(added.user_id, ada.id)

    const list = await ada.agent.get('/api/passkeys')
    assert.equal(list.statusCode, 200)
    const [listed] = list.json().passkeys
    assert.equal(listed.name, 'Laptop')
    assert.equal(listed.created_at, new Date(t.clock.now()).toISOString())
    assert.equal(listed.last_used_at, null)
    assert.deepEqual(Object.keys(listed).sort(), ['created_at', 'id', 'last_used_at', 'name'])

    // Adding another: the passkey already there is excluded, so the authenticator makes no second.
    const options = (await ada.agent.post('/api/passkeys/registration/options')).json()
    assert.deepEqual(
      options.excludeCredentials.map((c: { id: string }) => c.id),
      [credential.id],
    )

    assert.equal((await ada.agent.post('/api/logout')).statusCode, 204)
    const browser = createAgent(t)
    await browser.csrfToken()
    const before = browser.sessionCookie()
    t.clock.advance(60_000)
    const res = await passkeySignIn(browser, device, credential)
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().user.id, ada.id)
    assert.notEqual(browser.sessionCookie(), before, 'the session id is rotated')
    assert.equal((await browser.get('/api/me')).json().user.username, ada.username)
    const success = t.events('auth_success').at(-1)!
    assert.equal((success.extra as { method: string }).method, 'passkey')
    const used = (await browser.get('/api/passkeys')).json().passkeys[0]
    assert.equal(used.last_used_at, new Date(t.clock.now()).toISOString())
  })

  test('a name: at most 64 characters (65 → 400); blank → "Passkey"; control characters → 400', async () => {
    const ada = await signedIn(t)
    for (const [name, status] of [
      ['x'.repeat(65), 400],
      ['tab\there', 400],
    ] as const) {
      const { json } = await registrationAnswer(ada.agent, device)
      const res = await ada.agent.post('/api/passkeys', { json: { credential: json, name } })
      assert.equal(res.statusCode, status, name)
    }
    const { json } = await registrationAnswer(ada.agent, device)
    const long = await ada.agent.post('/api/passkeys', { json: { credential: json, name: 'é'.repeat(64) } })
    assert.equal(long.statusCode, 201, long.body)
    const blank = await addPasskey(ada.agent, device, '   ')
    const unnamed = await addPasskey(ada.agent, device)
    const names = (await ada.agent.get('/api/passkeys')).json().passkeys.map((p: { name: string }) => p.name)
    assert.deepEqual(names, ['é'.repeat(64), 'Passkey', 'Passkey'])
    assert.ok(blank.id < unnamed.id)
  })

  test('the API refuses unknown fields (400) and the signed-out (401, before the body is looked at)', async () => {
    const ada = await signedIn(t)
    const { json } = await registrationAnswer(ada.agent, device)
    const extra = await ada.agent.post('/api/passkeys', { json: { credential: json, user_id: 1 } })
    assert.equal(extra.statusCode, 400)
    const stranger = createAgent(t)
    for (const [method, url] of [
      ['POST', '/api/passkeys/registration/options'],
      ['POST', '/api/passkeys'],
      ['GET', '/api/passkeys'],
      ['DELETE', '/api/passkeys/1'],
    ] as const) {
      const res = await stranger.request({ method, url, json: { nonsense: true } })
      assert.equal(res.statusCode, 401, `${method} ${url}`)
    }
  })

  test('wrong origin or relying party: registration 400, sign-in 401 "Invalid passkey"', async () => {
    const ada = await signedIn(t)
    for (const overrides of [{ origin: 'https://learn.example.org.evil.example' }, { rpId: 'evil.example' }]) {
      const { json } = await registrationAnswer(ada.agent, device, overrides)
      const res = await ada.agent.post('/api/passkeys', { json: { credential: json } })
      assert.equal(res.statusCode, 400, JSON.stringify(overrides))
      assert.equal(res.json().error, 'Invalid passkey registration')
    }
    assert.equal(t.events('passkey_failure').at(-1)!.level, 'WARNING')
    const { credential } = await addPasskey(ada.agent, device)
    const phished = createAgent(t)
    for (const overrides of [
      { origin: 'https://learn-example.org' },
      { origin: 'http://learn.example.org' },
      { rpId: 'example.org' },
    ]) {
      const res = await passkeySignIn(phished, device, credential, overrides)
      assert.equal(res.statusCode, 401, JSON.stringify(overrides))
      assert.equal(res.json().error, 'Invalid passkey')
      assert.equal(lastFailureReason(t), 'verification_failed')
    }
    assert.equal((await phished.get('/api/me')).statusCode, 401)
  })

  test('a challenge is spent once: the same answer twice → 200 then 401; an answer in another session → 401', async () => {
    const ada = await signedIn(t)
    const { credential } = await addPasskey(ada.agent, device)
    const browser = createAgent(t)
    const options = await signInOptions(browser)
    const assertion = device.assert(options, credential)
    assert.equal((await browser.post('/api/login/passkey', { json: { credential: assertion } })).statusCode, 200)
    await browser.post('/api/logout')
    const replay = await browser.post('/api/login/passkey', { json: { credential: assertion } })
    assert.equal(replay.statusCode, 401)
    assert.equal(lastFailureReason(t), 'no_challenge')

    // Captured in one session, posted from another that asked for its own challenge.
    const victim = createAgent(t)
    const captured = device.assert(await signInOptions(victim), credential)
    const attacker = createAgent(t)
    await signInOptions(attacker)
    const res = await attacker.post('/api/login/passkey', { json: { credential: captured } })
    assert.equal(res.statusCode, 401)
    assert.equal(lastFailureReason(t), 'verification_failed')
    // And the refusal spent the attacker's challenge: the right answer to it no longer works either.
    const late = await attacker.post('/api/login/passkey', { json: { credential: captured } })
    assert.equal(late.statusCode, 401)
    assert.equal(lastFailureReason(t), 'no_challenge')
  })

  test('a challenge expires after 5 minutes on the clock: 1 ms before works, at 5 minutes → 401', async () => {
    const ada = await signedIn(t)
    const { credential } = await addPasskey(ada.agent, device)
    const browser = createAgent(t)
    let options = await signInOptions(browser)
    t.clock.advance(CHALLENGE_TTL_MS - 1)
    const inTime = await browser.post('/api/login/passkey', {
      json: { credential: device.assert(options, credential) },
    })
    assert.equal(inTime.statusCode, 200, inTime.body)
    await browser.post('/api/logout')
    options = await signInOptions(browser)
    t.clock.advance(CHALLENGE_TTL_MS)
    const late = await browser.post('/api/login/passkey', { json: { credential: device.assert(options, credential) } })
    assert.equal(late.statusCode, 401)
    assert.equal(lastFailureReason(t), 'challenge_expired')

    // A registration challenge expires the same way.
    const { json } = await registrationAnswer(ada.agent, device)
    t.clock.advance(CHALLENGE_TTL_MS)
    const add = await ada.agent.post('/api/passkeys', { json: { credential: json } })
    assert.equal(add.statusCode, 400)
  })

  test("another user's passkey: DELETE → 404 and it stays; a user handle that is not its account's → 401", async () => {
    const ada = await signedIn(t)
    const mallory = await signedIn(t)
    const { credential, id } = await addPasskey(ada.agent, device)
    const res = await mallory.agent.delete(`/api/passkeys/${id}`)
    assert.equal(res.statusCode, 404)
    assert.equal(res.json().error, 'Passkey not found')
    assert.equal((await mallory.agent.delete('/api/passkeys/999999')).statusCode, 404)
    assert.equal((await ada.agent.get('/api/passkeys')).json().passkeys.length, 1)
    assert.equal((await mallory.agent.get('/api/passkeys')).json().passkeys.length, 0)

    // Mallory's own account handle put on Ada's credential (or none at all) signs nobody in.
    const malloryHandle = (await mallory.agent.post('/api/passkeys/registration/options')).json().user.id
    for (const userHandle of [malloryHandle, null]) {
      const browser = createAgent(t)
      const signIn = await passkeySignIn(browser, device, credential, { userHandle })
      assert.equal(signIn.statusCode, 401)
      assert.equal(lastFailureReason(t), 'user_handle_mismatch')
    }
  })

  test('the signature counter must move forward: the same or a lower value → 401 (a cloned authenticator)', async () => {
    const ada = await signedIn(t)
    const { credential } = await addPasskey(ada.agent, device)
    const browser = createAgent(t)
    assert.equal((await passkeySignIn(browser, device, credential, { counter: 5 })).statusCode, 200)
    await browser.post('/api/logout')
    for (const counter of [5, 3]) {
      const res = await passkeySignIn(browser, device, credential, { counter })
      assert.equal(res.statusCode, 401, `counter ${counter}`)
      assert.equal(lastFailureReason(t), 'counter_regression')
    }
    assert.equal((await passkeySignIn(browser, device, credential, { counter: 6 })).statusCode, 200)
  })

  test('an authenticator that keeps no counter (always 0) still signs in', async () => {
    const ada = await signedIn(t)
    const { credential } = await addPasskey(ada.agent, device)
    for (let i = 0; i < 2; i++) {
      const browser = createAgent(t)
      assert.equal((await passkeySignIn(browser, device, credential, { counter: 0 })).statusCode, 200)
    }
  })

  test('user verification is required: without the UV flag, registration → 400 and sign-in → 401', async () => {
    const ada = await signedIn(t)
    const { json } = await registrationAnswer(ada.agent, device, { flags: FLAG_USER_PRESENT })
    assert.equal((await ada.agent.post('/api/passkeys', { json: { credential: json } })).statusCode, 400)
    const { credential } = await addPasskey(ada.agent, device)
    const browser = createAgent(t)
    const res = await passkeySignIn(browser, device, credential, { flags: FLAG_USER_PRESENT })
    assert.equal(res.statusCode, 401)
    assert.equal(lastFailureReason(t), 'verification_failed')
    // User verified without user present is no answer either.
    const absent = await passkeySignIn(browser, device, credential, { flags: FLAG_USER_VERIFIED })
    assert.equal(absent.statusCode, 401)
  })

  test('a removed passkey no longer signs in; removing is a passkey_removed event', async () => {
    const ada = await signedIn(t)
    const { credential, id } = await addPasskey(ada.agent, device)
    const removed = await ada.agent.delete(`/api/passkeys/${id}`)
    assert.equal(removed.statusCode, 204)
    assert.equal((t.events('passkey_removed').at(-1)!.extra as { key_id: number }).key_id, id)
    assert.equal((await ada.agent.delete(`/api/passkeys/${id}`)).statusCode, 404)
    const res = await passkeySignIn(createAgent(t), device, credential)
    assert.equal(res.statusCode, 401)
    assert.equal(lastFailureReason(t), 'unknown_credential')
  })

  test('the same authenticator credential twice → 409 "Passkey already registered"', async () => {
    const ada = await signedIn(t)
    const { json } = await registrationAnswer(ada.agent, device)
    assert.equal((await ada.agent.post('/api/passkeys', { json: { credential: json } })).statusCode, 201)
    // Replayed with a fresh challenge, as a tampered client could.
    const fresh = (await ada.agent.post('/api/passkeys/registration/options')).json()
    const clientData = JSON.parse(Buffer.from(json.response.clientDataJSON, 'base64url').toString())
    clientData.challenge = fresh.challenge
    const replay = {
      ...json,
      response: { ...json.response, clientDataJSON: Buffer.from(JSON.stringify(clientData)).toString('base64url') },
    }
    const res = await ada.agent.post('/api/passkeys', { json: { credential: replay } })
    assert.equal(res.statusCode, 409)
    assert.equal(res.json().error, 'Passkey already registered')
  })

  test('a disabled account: the right passkey → 403 "Account disabled", not signed in', async () => {
    const ada = await signedIn(t)
    const { credential } = await addPasskey(ada.agent, device)
    await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', ada.id).execute()
    const browser = createAgent(t)
    const res = await passkeySignIn(browser, device, credential)
    assert.equal(res.statusCode, 403)
    assert.equal(res.json().error, 'Account disabled')
    assert.equal(lastFailureReason(t), 'account_disabled')
    assert.equal((await browser.get('/api/me')).statusCode, 401)
  })

  test('the second-factor source: hasAny follows the passkeys, removeAll ends their sign-ins', async () => {
    const ada = await signedIn(t)
    const source = createPasskeySecondFactor({ repository: createPasskeysRepository(t.database.db) })
    assert.equal(source.kind, 'passkey')
    assert.equal(await source.hasAny(ada.id), false)
    const { credential } = await addPasskey(ada.agent, device)
    assert.equal(await source.hasAny(ada.id), true)
    await source.removeAll(ada.id)
    assert.equal(await source.hasAny(ada.id), false)
    assert.equal((await passkeySignIn(createAgent(t), device, credential)).statusCode, 401)
  })

  test('no secret in any log line: no challenge, signature, public key or credential JSON', async () => {
    const ada = await signedIn(t)
    const { credential } = await addPasskey(ada.agent, device)
    const browser = createAgent(t)
    const options = await signInOptions(browser)
    const assertion = device.assert(options, credential)
    await browser.post('/api/login/passkey', { json: { credential: assertion } })
    const text = JSON.stringify(t.logs())
    assert.ok(!text.includes(assertion.response.signature))
    assert.ok(!text.includes(assertion.response.authenticatorData))
  })
})

describe('passkey sign-in with REQUIRE_EMAIL_VERIFICATION', () => {
  const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })

  test('an account whose address is not verified: the right passkey → 403 "Email address not verified"', async () => {
    await withApp({ env: { ...ENV, REQUIRE_EMAIL_VERIFICATION: 'true' } }, async (t) => {
      const agent = createAgent(t)
      const who = { username: 'ada', email: 'ada@example.org', password: 'a long and memorable passphrase' }
      const created = await agent.post('/api/register', { json: who })
      assert.equal(created.statusCode, 201)
      const id: number = created.json().user.id
      const verified = (value: number) =>
        t.database.db.updateTable('users').set({ email_verified: value }).where('id', '=', id).execute()
      await verified(1)
      const login = await agent.post('/api/login', { json: { username: who.username, password: who.password } })
      assert.equal(login.statusCode, 200, login.body)
      const { credential } = await addPasskey(agent, device)
      // The address changed since, and is not verified yet.
      await verified(0)
      const browser = createAgent(t)
      const res = await passkeySignIn(browser, device, credential)
      assert.equal(res.statusCode, 403)
      assert.equal(res.json().error, 'Email address not verified')
      assert.equal(lastFailureReason(t), 'email_not_verified')
      assert.equal((await browser.get('/api/me')).statusCode, 401)
    })
  })
})

describe('passkey sign-in and RATE_LIMIT_LOGIN (per address, reserve before verify)', () => {
  const device = createSoftAuthenticator({ origin: PASSKEY_ORIGIN })

  test('25 wrong answers at once from one address with a limit of 5: five 401, twenty 429', async () => {
    await withApp({ env: { ...ENV, RATE_LIMIT_LOGIN: '5/15m' } }, async (t) => {
      const ada = await signedIn(t)
      const { credential } = await addPasskey(ada.agent, device)
      const browsers = Array.from({ length: 25 }, () => createAgent(t))
      // 25 sessions ask for options at once (asking counts nothing), then all answer at once.
      const answers = await Promise.all(
        browsers.map(async (browser) =>
          device.assert(await signInOptions(browser), credential, { rpId: 'evil.example' }),
        ),
      )
      const failuresBefore = t.events('auth_failure').length
      const statuses = await Promise.all(
        browsers.map((browser, i) =>
          browser.post('/api/login/passkey', { json: { credential: answers[i] } }).then((r) => r.statusCode),
        ),
      )
      assert.deepEqual(
        statuses.reduce<Record<number, number>>((tally, s) => ({ ...tally, [s]: (tally[s] ?? 0) + 1 }), {}),
        { 401: 5, 429: 20 },
      )
      assert.equal(t.events('auth_failure').length - failuresBefore, 5, 'at most the limit reached verification')
      // The address is blocked for options and password sign-ins alike.
      const blocked = createAgent(t)
      assert.equal((await blocked.post('/api/login/passkey/options')).statusCode, 429)
      const password = await blocked.post('/api/login', { json: { username: ada.username, password: ada.password } })
      assert.equal(password.statusCode, 429)
    })
  })

  test('successful passkey sign-ins and asking for options are not counted: 10 with a limit of 5 all pass', async () => {
    await withApp({ env: { ...ENV, RATE_LIMIT_LOGIN: '5/15m' } }, async (t) => {
      const ada = await signedIn(t)
      const { credential } = await addPasskey(ada.agent, device)
      for (let i = 0; i < 10; i++) {
        const browser = createAgent(t)
        await signInOptions(browser)
        const res = await passkeySignIn(browser, device, credential)
        assert.equal(res.statusCode, 200, `sign-in ${i + 1}: ${res.body}`)
      }
      // The failures still count: 5 are processed, the 6th is refused.
      const guesser = createAgent(t)
      for (let i = 0; i < 5; i++) {
        assert.equal((await passkeySignIn(guesser, device, credential, { rpId: 'x.example' })).statusCode, 401)
      }
      assert.equal((await guesser.post('/api/login/passkey', { json: { credential: {} } })).statusCode, 429)
    })
  })
})
