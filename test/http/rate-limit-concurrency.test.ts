import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { closeRedisClient, createRedisClient } from '../../src/security/rate-limit/redis-client.ts'
import { createPasswordHasher, TEST_PASSWORD_PARAMS, type PasswordHasher } from '../../src/security/passwords.ts'
import { buildTestApp, type TestApp, type TestAppOptions } from '../support/app.ts'
import { createHttpClient } from '../support/http-client.ts'
import { testRedisUrl } from '../support/services.ts'

const PASSWORD = 'a long enough passphrase'

/** A hasher that counts verifications: what reached the KDF is what the limits let through. */
function countingHasher(): { hasher: PasswordHasher; verified: () => number } {
  const inner = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 4 })
  let verified = 0
  const hasher: PasswordHasher = {
    ...inner,
    async verify(hash, password) {
      verified += 1
      return inner.verify(hash, password)
    },
    async verifyDummy(password) {
      verified += 1
      return inner.verifyDummy(password)
    },
  }
  return { hasher, verified: () => verified }
}

/** The app on a real socket: the requests below race each other through the kernel, not through inject. */
async function listening(options: TestAppOptions): Promise<{ t: TestApp; base: string }> {
  const t = await buildTestApp(options)
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { t, base: `http://127.0.0.1:${address.port}` }
}

/** A client with its session and token ready, from `ip` (TRUST_PROXY trusts the test's loopback). */
async function readyClient(base: string, ip: string) {
  const client = createHttpClient()
  const csrf = await client.csrfToken(base)
  return {
    client,
    post: (path: string, json: unknown) =>
      client.request(`${base}${path}`, { method: 'POST', json, csrf, headers: { 'x-forwarded-for': ip } }),
  }
}

async function signUp(base: string, username: string) {
  const { post } = await readyClient(base, '192.0.2.200')
  const res = await post('/api/register', { username, email: `${username}@example.org`, password: PASSWORD })
  assert.equal(res.status, 201)
}

function counts(statuses: number[]): Record<number, number> {
  const tally: Record<number, number> = {}
  for (const status of statuses) tally[status] = (tally[status] ?? 0) + 1
  return tally
}

/** The race of the review: 5 addresses × 5 guesses at once for one username whose limit is 10. */
async function raceOnOneUsername(options: TestAppOptions) {
  const { hasher, verified } = countingHasher()
  const { t, base } = await listening({
    ...options,
    env: { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_LOGIN_USER: '10/15m', ...options.env },
    deps: { ...options.deps, passwords: hasher },
  })
  try {
    await signUp(base, 'ada')
    const before = verified()
    const clients = await Promise.all(
      Array.from({ length: 25 }, (_, i) => readyClient(base, `198.51.100.${Math.floor(i / 5) + 1}`)),
    )
    const statuses = await Promise.all(
      clients.map(({ post }, i) =>
        post('/api/login', { username: 'ada', password: `guess ${i}` }).then((r) => r.status),
      ),
    )
    assert.deepEqual(counts(statuses), { 401: 10, 429: 15 })
    assert.equal(verified() - before, 10, 'at most the limit reached password verification')
    // The right password is refused once the limit is spent, from a fresh address too.
    const owner = await readyClient(base, '203.0.113.9')
    assert.equal((await owner.post('/api/login', { username: 'ada', password: PASSWORD })).status, 429)
    assert.equal(verified() - before, 10)
  } finally {
    await t.close()
  }
}

/** Ten guesses at once from one address whose limit is 5, each for a different username. */
async function raceFromOneAddress(options: TestAppOptions) {
  const { hasher, verified } = countingHasher()
  const { t, base } = await listening({ ...options, deps: { ...options.deps, passwords: hasher } })
  try {
    const before = verified()
    const clients = await Promise.all(Array.from({ length: 10 }, () => readyClient(base, '198.51.100.1')))
    const statuses = await Promise.all(
      clients.map(({ post }, i) =>
        post('/api/login', { username: `name${i}`, password: 'guess' }).then((r) => r.status),
      ),
    )
    assert.deepEqual(counts(statuses), { 401: 5, 429: 5 })
    assert.equal(verified() - before, 5)
  } finally {
    await t.close()
  }
}

/** Wrong current passwords at once, per user: at most RATE_LIMIT_PASSWORD_CHECK reach the KDF. */
async function raceOnPasswordChange(options: TestAppOptions) {
  const { hasher, verified } = countingHasher()
  const { t, base } = await listening({ ...options, deps: { ...options.deps, passwords: hasher } })
  try {
    const { client, post } = await readyClient(base, '192.0.2.1')
    const res = await post('/api/register', { username: 'ada', email: 'ada@example.org', password: PASSWORD })
    assert.equal(res.status, 201)
    // Signing in rotated the session: a fresh token for it.
    const csrf = await client.csrfToken(base)
    const before = verified()
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client
          .request(`${base}/api/profile/password`, {
            method: 'POST',
            csrf,
            json: { current_password: `guess ${i}`, new_password: 'another long passphrase' },
          })
          .then((r) => r.status),
      ),
    )
    assert.deepEqual(counts(statuses), { 400: 5, 429: 7 })
    assert.equal(verified() - before, 5)
  } finally {
    await t.close()
  }
}

/**
 * The crowd's side of reserve before verify: a class of 40 pressing "Sign in" at once behind one
 * school address (RATE_LIMIT_LOGIN 5/15m) while three of them mistype. Their reservations are in
 * flight together; a right password gives its attempt back, and the others wait for that instead
 * of being refused (in-flight.ts). Only the three typos stay counted.
 */
async function classSigningInAtOnce(options: TestAppOptions) {
  const { hasher, verified } = countingHasher()
  const { t, base } = await listening({
    ...options,
    env: { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_REGISTER: '100/1h', ...options.env },
    deps: { ...options.deps, passwords: hasher },
  })
  try {
    const names = Array.from({ length: 40 }, (_, i) => `pupil${i}`)
    for (const name of names) await signUp(base, name)
    const clients = await Promise.all(names.map(() => readyClient(base, '198.51.100.40')))
    const typos = new Set([7, 19, 33])
    const before = verified()
    const statuses = await Promise.all(
      clients.map(({ post }, i) =>
        post('/api/login', { username: names[i], password: typos.has(i) ? 'a typo' : PASSWORD }).then((r) => r.status),
      ),
    )
    assert.deepEqual(counts(statuses), { 200: 37, 401: 3 })
    assert.deepEqual(
      [...typos].map((i) => statuses[i]),
      [401, 401, 401],
    )
    assert.equal(verified() - before, 40, 'every password was verified once')
    // The address holds the three failures only: two more attempts are processed, then 429.
    const late = await readyClient(base, '198.51.100.40')
    assert.equal((await late.post('/api/login', { username: 'pupil0', password: 'guess' })).status, 401)
    assert.equal((await late.post('/api/login', { username: 'pupil0', password: 'guess' })).status, 401)
    assert.equal((await late.post('/api/login', { username: 'pupil1', password: PASSWORD })).status, 429)
  } finally {
    await t.close()
  }
}

describe('reserve before verify: parallel guesses over real sockets, in-memory counters', () => {
  test('25 guesses at once for one username (5 addresses × 5): 10 verified, 15 × 429', () => raceOnOneUsername({}))
  test('10 guesses at once from one address: 5 verified, 5 × 429', () => raceFromOneAddress({}))
  test('12 wrong current passwords at once: 5 verified, 7 × 429', () => raceOnPasswordChange({}))
  test('a class of 40 signing in at once behind one address, three typos: 37 × 200, 3 × 401', () =>
    classSigningInAtOnce({}))
})

const redisUrl = testRedisUrl()

describe('reserve before verify: parallel guesses over real sockets, counters in Redis', { skip: !redisUrl }, () => {
  /** Each test's keys under a prefix of its own, removed afterwards. */
  async function withRedis(run: (options: TestAppOptions) => Promise<void>) {
    const redis = createRedisClient(redisUrl!, { keyPrefix: `test:${randomBytes(6).toString('hex')}:` })
    try {
      await run({ deps: { redis } })
    } finally {
      if (redis.status === 'ready') {
        const prefix = redis.options.keyPrefix ?? ''
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(prefix.length)))
      }
      await closeRedisClient(redis)
    }
  }
  test('25 guesses at once for one username: 10 verified, 15 × 429', () => withRedis(raceOnOneUsername))
  test('10 guesses at once from one address: 5 verified, 5 × 429', () => withRedis(raceFromOneAddress))
  test('12 wrong current passwords at once: 5 verified, 7 × 429', () => withRedis(raceOnPasswordChange))
  test('a class of 40 signing in at once behind one address, three typos: 37 × 200, 3 × 401', () =>
    withRedis(classSigningInAtOnce))
})
