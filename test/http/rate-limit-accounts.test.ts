import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { KNOWN_ADDRESS_WINDOW_MS } from '../../src/modules/accounts/credentials.service.ts'
import { createAgent, type Agent } from '../support/agent.ts'
import { withApp, type TestApp } from '../support/app.ts'

const PASSWORD = 'a long enough passphrase'
const NEW_PASSWORD = 'another long passphrase'

/** An agent from its own address (TRUST_PROXY trusts the test's loopback peer). */
const from = (t: TestApp, ip: string) => createAgent(t, { headers: { 'x-forwarded-for': ip } })

async function signUp(agent: Agent, username: string): Promise<number> {
  const res = await agent.post('/api/register', {
    json: { username, email: `${username}@example.org`, password: PASSWORD },
  })
  assert.equal(res.statusCode, 201, res.body)
  return (res.json() as { user: { id: number } }).user.id
}

const changePassword = (agent: Agent, current: string, next = NEW_PASSWORD) =>
  agent.post('/api/profile/password', { json: { current_password: current, new_password: next } })

describe('wrong current passwords are limited per user and per address (RATE_LIMIT_PASSWORD_CHECK)', () => {
  const env = { TRUST_PROXY: '127.0.0.1' }

  test('5 wrong ones, then 429 with the usual headers, even for the right one; a right one is not counted', () =>
    withApp({ env }, async (t) => {
      const agent = from(t, '198.51.100.1')
      await signUp(agent, 'ada')
      const statuses: number[] = []
      for (const current of ['w1', 'w2', 'w3', 'w4']) statuses.push((await changePassword(agent, current)).statusCode)
      // A right one in between is given back: it changes the password and costs no attempt.
      const right = await changePassword(agent, PASSWORD)
      assert.equal(right.statusCode, 204)
      assert.equal(right.headers['ratelimit-remaining'], '1')
      statuses.push((await changePassword(agent, 'w5')).statusCode)
      assert.deepEqual(statuses, [400, 400, 400, 400, 400])
      const refused = await changePassword(agent, NEW_PASSWORD, 'yet another long passphrase')
      assert.equal(refused.statusCode, 429)
      assert.match(refused.json().error, /^Rate limit exceeded\. Try again in \d+ seconds\.$/)
      assert.equal(refused.headers['ratelimit-limit'], '5')
      assert.equal(refused.headers['ratelimit-remaining'], '0')
      assert.ok(Number(refused.headers['retry-after']) > 0)
      const [event] = t.events('rate_limited') as Array<{ extra: Record<string, unknown> }>
      assert.equal(event?.extra.policy, 'password_check')
      t.clock.advance(15 * 60_000)
      assert.equal((await changePassword(agent, NEW_PASSWORD, 'yet another long passphrase')).statusCode, 204)
    }))

  test('a new password refused by the rules of registration is not a wrong current password', () =>
    withApp({ env }, async (t) => {
      const agent = from(t, '198.51.100.1')
      await signUp(agent, 'ada')
      // Well-formed, but a common password: the service refuses it, and gives the attempt back.
      for (let i = 0; i < 6; i += 1)
        assert.equal((await changePassword(agent, PASSWORD, 'password1234')).statusCode, 400)
      assert.equal((await changePassword(agent, PASSWORD)).statusCode, 204)
    }))

  test('a body its schema refuses checked no password: not counted, through the API or the page form', () =>
    withApp({ env }, async (t) => {
      const agent = from(t, '198.51.100.1')
      await signUp(agent, 'ada')
      for (let i = 0; i < 6; i += 1) {
        assert.equal((await changePassword(agent, PASSWORD, 'short')).statusCode, 400, 'a new password of 5')
        const page = await agent.post('/profile/password', {
          form: { current_password: PASSWORD, new_password: 'short' },
          csrfIn: 'field',
        })
        assert.equal(page.statusCode, 400)
      }
      const right = await changePassword(agent, PASSWORD)
      assert.equal(right.statusCode, 204)
      assert.equal(right.headers['ratelimit-remaining'], '5')
    }))

  test('per address: 20 wrong ones from one address over several accounts, then 429 for every account there', () =>
    withApp({ env: { ...env, RATE_LIMIT_REGISTER: '100/1h' } }, async (t) => {
      const agents: Agent[] = []
      for (let i = 0; i < 5; i += 1) {
        const agent = from(t, '198.51.100.7')
        await signUp(agent, `user${i}`)
        agents.push(agent)
      }
      for (let i = 0; i < 20; i += 1) {
        assert.equal((await changePassword(agents[i % 4]!, `wrong ${i}`)).statusCode, 400, `wrong ${i}`)
      }
      const refused = await changePassword(agents[4]!, PASSWORD)
      assert.equal(refused.statusCode, 429)
      assert.equal((t.events('rate_limited').at(-1)!.extra as Record<string, unknown>).policy, 'password_check_ip')
    }))

  test("the profile page's password form shares the same counter", () =>
    withApp({ env }, async (t) => {
      const agent = from(t, '198.51.100.1')
      await signUp(agent, 'ada')
      for (let i = 0; i < 3; i += 1) assert.equal((await changePassword(agent, `w${i}`)).statusCode, 400)
      for (let i = 0; i < 2; i += 1) {
        const page = await agent.post('/profile/password', {
          form: { current_password: `f${i}`, new_password: NEW_PASSWORD },
          csrfIn: 'field',
        })
        assert.equal(page.statusCode, 400)
      }
      const refused = await agent.post('/profile/password', {
        form: { current_password: PASSWORD, new_password: NEW_PASSWORD },
        csrfIn: 'field',
      })
      assert.equal(refused.statusCode, 429)
      assert.match(refused.headers['content-type'] as string, /text\/html/)
    }))
})

describe('changes of email address are limited per user and per address (RATE_LIMIT_EMAIL_CHANGE)', () => {
  test('5 changes an hour (taken or free alike), then 429; saving the same address is not a change', () =>
    withApp({ env: { TRUST_PROXY: '127.0.0.1' } }, async (t) => {
      await signUp(from(t, '192.0.2.1'), 'taken')
      const agent = from(t, '198.51.100.1')
      await signUp(agent, 'ada')
      const statuses: number[] = []
      for (const email of [
        'a1@example.org',
        'taken@example.org',
        'a2@example.org',
        'TAKEN@example.org',
        'a3@example.org',
      ]) {
        statuses.push((await agent.patch('/api/profile', { json: { email } })).statusCode)
      }
      assert.deepEqual(statuses, [200, 409, 200, 409, 200])
      // Unchanged (in any case), or no address at all: not counted.
      assert.equal((await agent.patch('/api/profile', { json: { email: 'A3@example.org' } })).statusCode, 200)
      assert.equal((await agent.patch('/api/profile', { json: { bio: 'still here' } })).statusCode, 200)
      const probe = await agent.patch('/api/profile', { json: { email: 'someone@example.org' } })
      assert.equal(probe.statusCode, 429)
      assert.equal((t.events('rate_limited').at(-1)!.extra as Record<string, unknown>).policy, 'email_change')
      const me = await agent.get('/api/me')
      assert.equal(me.json().user.email, 'A3@example.org', 'the refused change changed nothing')
    }))

  test('per address: 20 changes from one address over several accounts, then 429', () =>
    withApp({ env: { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_REGISTER: '100/1h' } }, async (t) => {
      const agents: Agent[] = []
      for (let i = 0; i < 5; i += 1) {
        const agent = from(t, '198.51.100.9')
        await signUp(agent, `user${i}`)
        agents.push(agent)
      }
      for (let i = 0; i < 20; i += 1) {
        const res = await agents[i % 4]!.patch('/api/profile', { json: { email: `probe${i}@example.org` } })
        assert.equal(res.statusCode, 200)
      }
      const refused = await agents[4]!.patch('/api/profile', { json: { email: 'probe@example.org' } })
      assert.equal(refused.statusCode, 429)
      assert.equal((t.events('rate_limited').at(-1)!.extra as Record<string, unknown>).policy, 'email_change_ip')
    }))
})

describe('a username block renewed by a guesser elsewhere does not lock out its owner at home', () => {
  const env = { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_LOGIN_USER: '3/15m' }

  const login = (agent: Agent, password: string) => agent.post('/api/login', { json: { username: 'ada', password } })

  test('the owner signs in from an address the account used lately; from a new address the block holds', () =>
    withApp({ env }, async (t) => {
      const home = from(t, '198.51.100.10')
      await signUp(home, 'ada')
      assert.equal((await login(home, PASSWORD)).statusCode, 200)
      // The guesser keeps the name blocked, from addresses of their own.
      for (let i = 1; i <= 3; i += 1) assert.equal((await login(from(t, `203.0.113.${i}`), 'guess')).statusCode, 401)
      assert.equal((await login(from(t, '203.0.113.4'), PASSWORD)).statusCode, 429, 'a new address: the block holds')
      t.clock.advance(10 * 24 * 60 * 60_000)
      for (let i = 5; i <= 8; i += 1) await login(from(t, `203.0.113.${i}`), 'guess')

      const again = await login(from(t, '198.51.100.10'), PASSWORD)
      assert.equal(again.statusCode, 200, 'home gets past the block')
      assert.equal(t.events('auth_success').at(-1)?.user_id, (again.json() as { user: { id: number } }).user.id)
    }))

  test('from home, wrong passwords still count against the address, and its own limit still stops them', () =>
    withApp({ env }, async (t) => {
      const home = from(t, '198.51.100.10')
      await signUp(home, 'ada')
      assert.equal((await login(home, PASSWORD)).statusCode, 200)
      for (let i = 1; i <= 3; i += 1) await login(from(t, `203.0.113.${i}`), 'guess')
      const statuses: number[] = []
      for (let i = 0; i < 6; i += 1)
        statuses.push((await login(from(t, '198.51.100.10'), `home guess ${i}`)).statusCode)
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429], 'RATE_LIMIT_LOGIN (5) bounds guessing from home')
    }))

  test('an address not used for 30 days is no longer home', () =>
    withApp({ env }, async (t) => {
      const home = from(t, '198.51.100.10')
      await signUp(home, 'ada')
      assert.equal((await login(home, PASSWORD)).statusCode, 200)
      t.clock.advance(KNOWN_ADDRESS_WINDOW_MS + 60_000)
      for (let i = 1; i <= 3; i += 1) await login(from(t, `203.0.113.${i}`), 'guess')
      assert.equal((await login(from(t, '198.51.100.10'), PASSWORD)).statusCode, 429)
    }))

  test('only keyed hashes of addresses are stored', () =>
    withApp({ env }, async (t) => {
      const home = from(t, '198.51.100.10')
      await signUp(home, 'ada')
      await login(home, PASSWORD)
      const rows = await t.database.db.selectFrom('sign_in_addresses').selectAll().execute()
      assert.equal(rows.length, 1)
      assert.match(rows[0]!.address_hash, /^[0-9a-f]{32}$/)
      assert.ok(!JSON.stringify(rows).includes('198.51.100'))
    }))
})
