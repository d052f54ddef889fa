import { badRequest, conflict, HttpError } from '../../http/errors.ts'
import type { Clock } from '../../lib/clock.ts'
import type { PasswordPolicy } from '../../security/password-policy.ts'
import { characterCount } from '../../security/password-policy.ts'
import { normalizePassword, PasswordHasherBusyError, type PasswordHasher } from '../../security/passwords.ts'
import {
  DuplicateUserError,
  lowerKey,
  type AccountsRepository,
  type NewUser,
  type ProfileChanges,
  type UniqueField,
  type UserCredentials,
  type UserRecord,
} from './accounts.repository.ts'
import { BIO_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, type ProfileBody, type RegisterBody } from './accounts.schemas.ts'

export const INVALID_CREDENTIALS_MESSAGE = 'Invalid username or password'
export const ACCOUNT_DISABLED_MESSAGE = 'Account disabled'
export const WRONG_CURRENT_PASSWORD_MESSAGE = 'Current password is incorrect'
const HASHER_BUSY_RETRY_SECONDS = 5

const DUPLICATE_MESSAGE: Record<UniqueField, string> = {
  username: 'Username already taken',
  email: 'Email address already registered',
}

/**
 * The outcome of a login attempt, returned rather than thrown so the route can log it and the
 * rate limiter can count failures per username (`usernameKey`, the lower-cased name: "Ada" and
 * "ada" are one counter).
 */
export type LoginOutcome =
  | { status: 'success'; user: UserRecord; usernameKey: string }
  | {
      status: 'invalid_credentials'
      reason: 'unknown_user' | 'wrong_password'
      usernameKey: string
      userId: number | null
    }
  /** The password was right; the account is disabled. Only someone with the password learns this. */
  | { status: 'disabled'; usernameKey: string; userId: number }

export type PasswordChangeOutcome = { status: 'changed' } | { status: 'wrong_current_password' }

export interface AccountsServiceDeps {
  repository: AccountsRepository
  passwords: PasswordHasher
  policy: PasswordPolicy
  clock: Clock
}

/** Control characters other than tab and newline, and the bidirectional overrides and isolates used to spoof text. */
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u
const LINE_BREAK_OR_TAB = /[\t\n]/

/** NFC, trimmed, CRLF → LF; refuses what would spoof or break a page rather than silently dropping it. */
export function normalizeText(value: string, field: string, opts: { maxLength: number; multiline: boolean }): string {
  const text = value.normalize('NFC').replace(/\r\n?/g, '\n').trim()
  if (FORBIDDEN_IN_TEXT.test(text))
    throw badRequest(`${field} must not contain control or bidirectional override characters`)
  if (!opts.multiline && LINE_BREAK_OR_TAB.test(text)) throw badRequest(`${field} must be a single line`)
  if (characterCount(text) > opts.maxLength) throw badRequest(`${field} must be at most ${opts.maxLength} characters`)
  return text
}

function withoutHash(credentials: UserCredentials): UserRecord {
  const { password_hash: _hash, ...user } = credentials
  return user
}

export function createAccountsService(deps: AccountsServiceDeps) {
  const { repository, passwords, policy, clock } = deps
  let adminSeen = false

  /** The KDF queue is bounded; when full the client gets a 503 to retry, not a request that waits forever. */
  async function kdf<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof PasswordHasherBusyError) {
        throw new HttpError(503, 'Server busy, try again shortly', { 'Retry-After': String(HASHER_BUSY_RETRY_SECONDS) })
      }
      throw error
    }
  }

  function refusePolicy(password: string, context: { username: string; email: string }) {
    const problem = policy.problem(password, context)
    if (problem) throw badRequest(problem)
  }

  function duplicate(field: UniqueField): HttpError {
    return conflict(DUPLICATE_MESSAGE[field])
  }

  /**
   * The checks of a registration that come before any write (the password rules, a taken name
   * or address), then the hash to store. Throws the API's 400/409.
   */
  async function registrationHash(body: RegisterBody): Promise<string> {
    refusePolicy(body.password, body)
    // Cheap check first, so a taken name costs no key derivation; the unique index decides races.
    const taken = await repository.takenFields(body.username, body.email)
    if (taken.has('username')) throw duplicate('username')
    if (taken.has('email')) throw duplicate('email')
    return kdf(() => passwords.hash(body.password))
  }

  /** Inserts the account through `into` (a transaction's repository, or this one); a lost race is the 409. */
  async function insertNew(into: AccountsRepository, user: NewUser): Promise<UserRecord> {
    try {
      return await into.insert(user)
    } catch (error) {
      if (error instanceof DuplicateUserError) throw duplicate(error.field)
      throw error
    }
  }

  return {
    async register(body: RegisterBody): Promise<UserRecord> {
      const passwordHash = await registrationHash(body)
      return insertNew(repository, { username: body.username, email: body.email, passwordHash, nowMs: clock.now() })
    },

    registrationHash,
    insertNew,

    /**
     * Unknown usernames cost one verification against a dummy hash, so the answer and its
     * timing are those of a wrong password. A disabled account is revealed only after its
     * password verified.
     */
    async login(username: string, password: string): Promise<LoginOutcome> {
      const usernameKey = lowerKey(username)
      const credentials = await repository.findCredentialsByUsername(username)
      if (!credentials) {
        await kdf(() => passwords.verifyDummy(password))
        return { status: 'invalid_credentials', reason: 'unknown_user', usernameKey, userId: null }
      }
      const { ok, needsRehash } = await kdf(() => passwords.verify(credentials.password_hash, password))
      if (!ok) return { status: 'invalid_credentials', reason: 'wrong_password', usernameKey, userId: credentials.id }
      if (credentials.disabled) return { status: 'disabled', usernameKey, userId: credentials.id }
      if (needsRehash) {
        const upgraded = await kdf(() => passwords.hash(password))
        await repository.setPasswordHash(credentials.id, upgraded, clock.now(), credentials.password_hash)
      }
      return { status: 'success', user: withoutHash(credentials), usernameKey }
    },

    /**
     * Whether an admin exists. Once one does, a server keeps it so without asking again (the last
     * admin cannot be demoted, disabled or deleted), so a busy catalogue page costs no query.
     */
    async hasAdmin(): Promise<boolean> {
      if (adminSeen) return true
      adminSeen = await repository.hasAdmin()
      return adminSeen
    },

    async findUserId(username: string): Promise<number | undefined> {
      return repository.findIdByUsername(username)
    },

    async findUser(id: number): Promise<UserRecord | undefined> {
      return repository.findById(id)
    },

    async findUserByEmail(email: string): Promise<UserRecord | undefined> {
      return repository.findByEmail(email)
    },

    /**
     * The hash of a password the account is to be given without its current one (a reset link,
     * the command line), under the registration rules. undefined when the user no longer exists.
     */
    async hashNewPassword(userId: number, newPassword: string): Promise<string | undefined> {
      const credentials = await repository.findCredentialsById(userId)
      if (!credentials) return undefined
      refusePolicy(newPassword, credentials)
      return kdf(() => passwords.hash(newPassword))
    },

    /**
     * undefined when the user no longer exists. `previousEmail` is the address the account left,
     * null when the address did not change (the same address in other letter case is no change).
     */
    async updateProfile(
      userId: number,
      body: ProfileBody,
    ): Promise<{ user: UserRecord; previousEmail: string | null } | undefined> {
      const changes: ProfileChanges = {}
      if (body.display_name !== undefined) {
        changes.display_name = normalizeText(body.display_name, 'display_name', {
          maxLength: DISPLAY_NAME_MAX_LENGTH,
          multiline: false,
        })
      }
      if (body.bio !== undefined) {
        changes.bio = normalizeText(body.bio, 'bio', { maxLength: BIO_MAX_LENGTH, multiline: true })
      }
      let previousEmail: string | null = null
      if (body.email !== undefined) {
        changes.email = body.email
        const before = await repository.findById(userId)
        if (before && lowerKey(before.email) !== lowerKey(body.email)) previousEmail = before.email
      }
      try {
        const user = await repository.updateProfile(userId, changes, clock.now())
        return user && { user, previousEmail }
      } catch (error) {
        if (error instanceof DuplicateUserError) throw duplicate(error.field)
        throw error
      }
    },

    /** Whether `password` is the account's (re-authentication); undefined when the user no longer exists. */
    async verifyPassword(userId: number, password: string): Promise<boolean | undefined> {
      const credentials = await repository.findCredentialsById(userId)
      if (!credentials) return undefined
      const { ok } = await kdf(() => passwords.verify(credentials.password_hash, password))
      return ok
    },

    /** The caller ends the other sessions and rotates this one when the outcome is `changed`. */
    async changePassword(
      userId: number,
      currentPassword: string,
      newPassword: string,
    ): Promise<PasswordChangeOutcome | undefined> {
      const credentials = await repository.findCredentialsById(userId)
      if (!credentials) return undefined
      refusePolicy(newPassword, credentials)
      const { ok } = await kdf(() => passwords.verify(credentials.password_hash, currentPassword))
      if (!ok) return { status: 'wrong_current_password' }
      if (normalizePassword(newPassword) === normalizePassword(currentPassword)) {
        throw badRequest('New password must differ from the current one')
      }
      const passwordHash = await kdf(() => passwords.hash(newPassword))
      await repository.setPasswordHash(userId, passwordHash, clock.now())
      return { status: 'changed' }
    },
  }
}

export type AccountsService = ReturnType<typeof createAccountsService>
