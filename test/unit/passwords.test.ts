import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import argon2 from 'argon2'
import {
  createPasswordHasher,
  createSemaphore,
  decodeArgon2Hash,
  defaultMaxConcurrent,
  OWASP_MIN_PARAMS,
  PasswordHasherBusyError,
  PRODUCTION_MAX_CONCURRENT,
  PRODUCTION_PASSWORD_PARAMS,
  TEST_PASSWORD_PARAMS,
  type Argon2Backend,
} from '../../src/security/passwords.ts'

const cheap = () => createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 2 })

/** A backend whose calls wait until released, so a test can see how many run at once. */
function gatedBackend() {
  const pending: Array<{ kind: 'hash' | 'verify'; release: (ok?: boolean) => void }> = []
  let running = 0
  let maxRunning = 0
  const started: string[] = []
  const backend: Argon2Backend = {
    hash: (password) => {
      started.push(password)
      running++
      maxRunning = Math.max(maxRunning, running)
      return new Promise((resolve) =>
        pending.push({
          kind: 'hash',
          release: () => {
            running--
            resolve(`$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$${Buffer.alloc(32).toString('base64')}`)
          },
        }),
      )
    },
    verify: (_digest, password) => {
      started.push(password)
      running++
      maxRunning = Math.max(maxRunning, running)
      return new Promise((resolve) =>
        pending.push({
          kind: 'verify',
          release: (ok = false) => {
            running--
            resolve(ok)
          },
        }),
      )
    },
  }
  return {
    backend,
    started,
    pending,
    maxRunning: () => maxRunning,
    releaseNext(ok?: boolean) {
      const next = pending.shift()
      assert.ok(next, 'nothing is running')
      next.release(ok)
    },
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('password hashing: production parameters', () => {
  test('a real production hash is argon2id with at least the OWASP parameters (m ≥ 19456 KiB, t ≥ 2, p = 1)', async () => {
    const hasher = createPasswordHasher() // the server's defaults, nothing injected
    const digest = await hasher.hash('correct horse battery staple')
    const decoded = decodeArgon2Hash(digest)
    assert.ok(decoded, `not a PHC argon2 string: ${digest}`)
    assert.equal(decoded.algorithm, 'argon2id')
    assert.equal(decoded.version, 0x13)
    assert.ok(decoded.memoryKiB >= 19_456, `m=${decoded.memoryKiB}`)
    assert.ok(decoded.iterations >= 2, `t=${decoded.iterations}`)
    assert.equal(decoded.parallelism, 1)
    assert.ok(decoded.saltBytes >= 16, `salt of ${decoded.saltBytes} bytes`)
    assert.equal(decoded.hashBytes, 32)
    assert.deepEqual(await hasher.verify(digest, 'correct horse battery staple'), { ok: true, needsRehash: false })
  })

  test('the production constants are not below the OWASP floor, and concurrency is bounded', () => {
    assert.ok(PRODUCTION_PASSWORD_PARAMS.memoryKiB >= OWASP_MIN_PARAMS.memoryKiB)
    assert.ok(PRODUCTION_PASSWORD_PARAMS.iterations >= OWASP_MIN_PARAMS.iterations)
    assert.equal(PRODUCTION_PASSWORD_PARAMS.parallelism, 1)
    assert.ok(PRODUCTION_MAX_CONCURRENT >= 1 && PRODUCTION_MAX_CONCURRENT <= 4)
    // One core is always left to the event loop; never more than libuv's default pool of 4.
    assert.deepEqual(
      [1, 2, 3, 4, 8, 64].map((cores) => defaultMaxConcurrent(cores)),
      [1, 1, 2, 3, 4, 4],
    )
  })

  test('the key derivation runs off the event loop: the loop keeps turning while a production hash is computed', async () => {
    const hasher = createPasswordHasher()
    let turns = 0
    let done = false
    const spin = () => {
      if (done) return
      turns++
      setImmediate(spin)
    }
    setImmediate(spin)
    await hasher.hash('a password that takes a while')
    done = true
    // Computed on the main thread, the hash would finish before the first setImmediate ran.
    assert.ok(turns > 1, `the event loop turned ${turns} times during the hash`)
  })
})

describe('password hashing: hash and verify', () => {
  test('round trip; a wrong password fails; every hash has its own salt', async () => {
    const hasher = cheap()
    const a = await hasher.hash('tr0ub4dor&3')
    const b = await hasher.hash('tr0ub4dor&3')
    assert.notEqual(a, b)
    assert.deepEqual(await hasher.verify(a, 'tr0ub4dor&3'), { ok: true, needsRehash: false })
    assert.deepEqual(await hasher.verify(a, 'tr0ub4dor&4'), { ok: false, needsRehash: false })
    assert.deepEqual(await hasher.verify(a, ''), { ok: false, needsRehash: false })
  })

  test('no truncation: 256-character passwords differing only in their last character are different', async () => {
    const hasher = cheap()
    const base = 'x'.repeat(255)
    const digest = await hasher.hash(`${base}a`)
    assert.equal((await hasher.verify(digest, `${base}a`)).ok, true)
    assert.equal((await hasher.verify(digest, `${base}b`)).ok, false)
    // Multi-byte too: 256 characters of 4 bytes each is 1 KiB of UTF-8, far past bcrypt's 72 bytes.
    const emoji = '🔑'.repeat(255)
    const wide = await hasher.hash(`${emoji}🔒`)
    assert.equal((await hasher.verify(wide, `${emoji}🔒`)).ok, true)
    assert.equal((await hasher.verify(wide, `${emoji}🔑`)).ok, false)
  })

  test('Unicode is compared in NFC: a precomposed and a decomposed é are the same password', async () => {
    const hasher = cheap()
    const digest = await hasher.hash('caf\u00e9 au lait')
    assert.equal((await hasher.verify(digest, 'cafe\u0301 au lait')).ok, true)
  })

  test('a hash with other parameters verifies and asks for a rehash; only a correct password does', async () => {
    const old = createPasswordHasher({ params: { memoryKiB: 32, iterations: 1, parallelism: 1 } })
    const current = cheap()
    const digest = await old.hash('an older password')
    assert.deepEqual(await current.verify(digest, 'an older password'), { ok: true, needsRehash: true })
    assert.deepEqual(await current.verify(digest, 'not the password'), { ok: false, needsRehash: false })
    const fresh = await current.hash('an older password')
    assert.deepEqual(await current.verify(fresh, 'an older password'), { ok: true, needsRehash: false })
  })

  test('an argon2i hash (another algorithm) verifies and asks for a rehash to argon2id', async () => {
    const digest = await argon2.hash('legacy password', {
      type: argon2.argon2i,
      memoryCost: 64,
      timeCost: 1,
      parallelism: 1,
    })
    assert.deepEqual(await cheap().verify(digest, 'legacy password'), { ok: true, needsRehash: true })
  })

  test('a malformed or foreign stored hash is a failed verification that still costs one derivation', async () => {
    const gated = gatedBackend()
    const hasher = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, backend: gated.backend })
    const ready = hasher.ready()
    await settle()
    gated.releaseNext() // the dummy hash
    await ready
    for (const stored of [
      '',
      'not a hash',
      '$2b$12$abcdefghijklmnopqrstuuFQ0K2bPqeZ1kD6GZIYvCw6y2C3w2a',
      '$argon2id$v=19$m=64$x$y',
    ]) {
      const result = hasher.verify(stored, 'whatever')
      await settle()
      assert.equal(gated.pending.length, 1, `no derivation for ${JSON.stringify(stored)}`)
      gated.releaseNext(true) // even a backend that says yes cannot make a dummy verification succeed
      assert.deepEqual(await result, { ok: false, needsRehash: false })
    }
  })

  test('verifyDummy costs one verification and never succeeds', async () => {
    const hasher = cheap()
    await hasher.ready()
    await hasher.verifyDummy('anything')
    const gated = gatedBackend()
    const counted = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, backend: gated.backend })
    const dummy = counted.verifyDummy('anything')
    await settle()
    assert.equal(gated.pending[0]?.kind, 'hash', 'the dummy hash is made on first use')
    gated.releaseNext()
    await settle()
    assert.equal(gated.pending[0]?.kind, 'verify')
    gated.releaseNext(false)
    await dummy
  })

  test('decodes PHC strings in either parameter order and refuses anything else', () => {
    const hash = 'c29tZXNhbHRzb21lc2FsdA'
    const digest = Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')
    const expected = {
      algorithm: 'argon2id',
      version: 19,
      memoryKiB: 19456,
      iterations: 2,
      parallelism: 1,
      saltBytes: 16,
      hashBytes: 32,
    }
    assert.deepEqual(decodeArgon2Hash(`$argon2id$v=19$m=19456,t=2,p=1$${hash}$${digest}`), expected)
    assert.deepEqual(decodeArgon2Hash(`$argon2id$v=19$m=19456,p=1,t=2$${hash}$${digest}`), expected)
    assert.equal(decodeArgon2Hash(`$argon2id$v=19$m=19456,t=2$${hash}$${digest}`), null)
    assert.equal(decodeArgon2Hash(`$scrypt$v=19$m=19456,t=2,p=1$${hash}$${digest}`), null)
    assert.equal(decodeArgon2Hash('$2b$12$abcdefghijklmnopqrstuu'), null)
  })
})

describe('password hashing: bounded concurrency', () => {
  test('ten verifications at once run at most maxConcurrent at a time, first come first served', async () => {
    const gated = gatedBackend()
    const hasher = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 2, backend: gated.backend })
    const digest = `$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$${Buffer.alloc(32).toString('base64').replace(/=+$/, '')}`
    const results = Array.from({ length: 10 }, (_, i) => hasher.verify(digest, `password-${i}`))
    await settle()
    assert.deepEqual(hasher.load(), { running: 2, queued: 8 })
    while (gated.pending.length > 0) {
      gated.releaseNext(true)
      await settle()
    }
    assert.equal(gated.maxRunning(), 2)
    assert.deepEqual(
      gated.started,
      Array.from({ length: 10 }, (_, i) => `password-${i}`),
    )
    for (const result of await Promise.all(results)) assert.equal(result.ok, true)
    assert.deepEqual(hasher.load(), { running: 0, queued: 0 })
  })

  test('a full queue refuses at once (PasswordHasherBusyError) instead of growing without bound', async () => {
    const gated = gatedBackend()
    const hasher = createPasswordHasher({
      params: TEST_PASSWORD_PARAMS,
      maxConcurrent: 1,
      maxQueued: 2,
      backend: gated.backend,
    })
    const accepted = [hasher.hash('one'), hasher.hash('two'), hasher.hash('three')]
    await assert.rejects(hasher.hash('four'), PasswordHasherBusyError)
    await settle()
    for (let i = 0; i < 3; i++) {
      gated.releaseNext()
      await settle()
    }
    await Promise.all(accepted)
    assert.deepEqual(hasher.load(), { running: 0, queued: 0 })
  })

  test('a failing task frees its slot', async () => {
    const semaphore = createSemaphore(1)
    await assert.rejects(
      semaphore.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    )
    assert.equal(await semaphore.run(async () => 'next'), 'next')
    assert.deepEqual(semaphore.load(), { running: 0, queued: 0 })
    assert.throws(() => createSemaphore(0), RangeError)
  })

  test('with real argon2, concurrent hashes never exceed the bound', async () => {
    const hasher = createPasswordHasher({ params: TEST_PASSWORD_PARAMS, maxConcurrent: 2 })
    let maxRunning = 0
    const watch = setInterval(() => (maxRunning = Math.max(maxRunning, hasher.load().running)), 0)
    const digests = await Promise.all(Array.from({ length: 10 }, (_, i) => hasher.hash(`pw-${i}`)))
    clearInterval(watch)
    assert.equal(new Set(digests).size, 10)
    assert.ok(maxRunning <= 2, `max running ${maxRunning}`)
  })
})
