import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import argon2, { type HashOptions } from 'argon2'

/**
 * Password storage: argon2id in libuv's threadpool (never on the event loop), at most
 * `maxConcurrent` derivations at a time so that a burst of logins leaves a core to the event
 * loop, bounds the memory in use at once (maxConcurrent × memoryKiB) and leaves threadpool
 * slots for file and DNS work.
 * See docs/adr/0009-password-hashing.md.
 */

export interface Argon2Params {
  /** Memory per derivation, in KiB (argon2's `m`). */
  memoryKiB: number
  /** Passes over that memory (argon2's `t`). */
  iterations: number
  /** Lanes (argon2's `p`). */
  parallelism: number
}

/** OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1. The floor, never less. */
export const OWASP_MIN_PARAMS: Readonly<Argon2Params> = Object.freeze({
  memoryKiB: 19_456,
  iterations: 2,
  parallelism: 1,
})

/** What the server uses. Raising these rehashes each user's password at their next login. */
export const PRODUCTION_PASSWORD_PARAMS: Readonly<Argon2Params> = OWASP_MIN_PARAMS

/**
 * Derivations at once: one core fewer than the machine has (so the event loop always finds a
 * core free, however many logins arrive), at least 1, at most 4 (libuv's default pool, which
 * file and DNS work share). 1 on a two-core machine. See docs/adr/0009 and bench/login.
 */
export function defaultMaxConcurrent(cores: number = availableParallelism()): number {
  return Math.min(4, Math.max(1, cores - 1))
}
export const PRODUCTION_MAX_CONCURRENT = defaultMaxConcurrent()

/** Waiting derivations beyond which a request is refused (503) rather than queued without end. */
export const DEFAULT_MAX_QUEUED = 1_000

/** Argon2 parameters cheap enough for test suites. Never used by the server (see app.ts). */
export const TEST_PASSWORD_PARAMS: Readonly<Argon2Params> = Object.freeze({
  memoryKiB: 64,
  iterations: 1,
  parallelism: 1,
})

/** The contract's upper bound; argon2 itself takes any length, so nothing is ever truncated. */
export const MAX_PASSWORD_LENGTH = 256
export const MIN_PASSWORD_LENGTH = 8

const HASH_BYTES = 32
const ARGON2_VERSION = 0x13

/** Thrown when more than `maxQueued` derivations wait: the caller answers 503, not a growing queue. */
export class PasswordHasherBusyError extends Error {
  constructor() {
    super('password hasher queue is full')
    this.name = 'PasswordHasherBusyError'
  }
}

export interface VerifyResult {
  ok: boolean
  /** The password matched but the stored hash uses other parameters or another algorithm: store a new one. */
  needsRehash: boolean
}

export interface PasswordHasher {
  readonly params: Readonly<Argon2Params>
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of the normalised password. */
  hash(password: string): Promise<string>
  /** Constant work whatever the stored hash looks like: a malformed one costs a dummy verification. */
  verify(storedHash: string, password: string): Promise<VerifyResult>
  /** The cost of a verification with nothing to verify against: for unknown or unusable accounts. */
  verifyDummy(password: string): Promise<void>
  /** Resolves once the dummy hash exists, so the first unknown-user login costs no more than later ones. */
  ready(): Promise<void>
  /** Derivations running and waiting now (tests and diagnostics). */
  load(): { running: number; queued: number }
}

/** The two argon2 calls the hasher makes; injectable so tests can watch concurrency. */
export interface Argon2Backend {
  hash(password: string, options: HashOptions & { raw?: false }): Promise<string>
  verify(digest: string, password: string): Promise<boolean>
}

const nodeArgon2: Argon2Backend = {
  hash: (password, options) => argon2.hash(password, options),
  verify: (digest, password) => argon2.verify(digest, password),
}

export interface PasswordHasherOptions {
  params?: Readonly<Argon2Params>
  maxConcurrent?: number
  maxQueued?: number
  backend?: Argon2Backend
}

/**
 * Passwords are compared as Unicode NFC, so "é" typed as one code point or as e + combining
 * accent is the same password on every keyboard. Applied on hash and on verify alike.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFC')
}

export interface DecodedArgon2Hash {
  algorithm: string
  version: number
  memoryKiB: number
  iterations: number
  parallelism: number
  saltBytes: number
  hashBytes: number
}

/**
 * Reads the parameters out of a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`; node-argon2
 * writes them in the order m, p, t, the reference implementation m, t, p: any order is read).
 * null when it is not an argon2 hash we understand.
 */
export function decodeArgon2Hash(phc: string): DecodedArgon2Hash | null {
  const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$([a-z]=\d+(?:,[a-z]=\d+)*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
    phc,
  )
  if (!match) return null
  const [, algorithm, version, paramList, salt, digest] = match as unknown as string[]
  const params = new Map<string, number>()
  for (const pair of paramList!.split(',')) params.set(pair[0]!, Number(pair.slice(2)))
  const m = params.get('m')
  const t = params.get('t')
  const p = params.get('p')
  if (m === undefined || t === undefined || p === undefined || params.size !== 3) return null
  return {
    algorithm: algorithm!,
    version: Number(version),
    memoryKiB: m,
    iterations: t,
    parallelism: p,
    saltBytes: Buffer.from(salt!, 'base64').length,
    hashBytes: Buffer.from(digest!, 'base64').length,
  }
}

function matchesParams(decoded: DecodedArgon2Hash, params: Readonly<Argon2Params>): boolean {
  return (
    decoded.algorithm === 'argon2id' &&
    decoded.version === ARGON2_VERSION &&
    decoded.memoryKiB === params.memoryKiB &&
    decoded.iterations === params.iterations &&
    decoded.parallelism === params.parallelism &&
    decoded.hashBytes === HASH_BYTES
  )
}

/** A counting semaphore with a bounded queue, first come first served. */
export function createSemaphore(maxConcurrent: number, maxQueued = Number.POSITIVE_INFINITY) {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
    throw new RangeError('maxConcurrent must be a positive integer')
  let running = 0
  const waiting: Array<() => void> = []
  const release = () => {
    const next = waiting.shift()
    if (next)
      next() // the slot passes straight to the next waiter
    else running--
  }
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < maxConcurrent) running++
      else if (waiting.length >= maxQueued) throw new PasswordHasherBusyError()
      else await new Promise<void>((resolve) => waiting.push(resolve))
      try {
        return await task()
      } finally {
        release()
      }
    },
    load: () => ({ running, queued: waiting.length }),
  }
}

export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const params = Object.freeze({ ...(options.params ?? PRODUCTION_PASSWORD_PARAMS) })
  const backend = options.backend ?? nodeArgon2
  const gate = createSemaphore(
    options.maxConcurrent ?? PRODUCTION_MAX_CONCURRENT,
    options.maxQueued ?? DEFAULT_MAX_QUEUED,
  )
  const argonOptions = {
    type: argon2.argon2id,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: params.parallelism,
    hashLength: HASH_BYTES,
    version: ARGON2_VERSION,
  } as const

  const hash = (password: string) => gate.run(() => backend.hash(normalizePassword(password), argonOptions))

  // A hash of a random secret nobody knows, with the current parameters: verifying against it
  // costs what a real verification costs, and never succeeds.
  let dummy: Promise<string> | null = null
  const dummyHash = () =>
    (dummy ??= hash(randomBytes(32).toString('base64')).catch((error: unknown) => {
      dummy = null // a refused attempt (queue full) is tried again next time
      throw error
    }))

  const verifyDummy = async (password: string) => {
    const digest = await dummyHash()
    await gate.run(() => backend.verify(digest, normalizePassword(password)))
  }

  return {
    params,
    hash,
    async verify(storedHash, password) {
      const decoded = decodeArgon2Hash(storedHash)
      if (!decoded) {
        await verifyDummy(password)
        return { ok: false, needsRehash: false }
      }
      let ok: boolean
      try {
        ok = await gate.run(() => backend.verify(storedHash, normalizePassword(password)))
      } catch (error) {
        if (error instanceof PasswordHasherBusyError) throw error
        ok = false // parameters argon2 refuses: unusable hash, same answer as a wrong password
      }
      return { ok, needsRehash: ok && !matchesParams(decoded, params) }
    },
    verifyDummy,
    async ready() {
      await dummyHash()
    },
    load: () => gate.load(),
  }
}
