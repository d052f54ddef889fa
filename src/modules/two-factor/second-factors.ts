import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { createPasskeysRepository } from '../passkeys/passkeys.repository.ts'
import { createPasskeySecondFactor } from '../passkeys/second-factor.ts'
import { createTwoFactorRepository, type TwoFactorRepository } from './two-factor.repository.ts'

/**
 * A kind of second factor an account can have (TOTP here, passkeys in modules/passkeys). Every
 * question "does this account have a second factor" goes through the list of sources, so a new
 * kind counts everywhere at once: USER.two_factor_enabled, REQUIRE_2FA_FOR, the password step
 * answering two_factor_required, admin removal and `lectern reset-2fa`.
 */
export interface SecondFactorSource {
  readonly kind: 'totp' | 'passkey'
  /** Whether the account has this factor in force. */
  hasAny(userId: number): Promise<boolean>
  /** Removes this factor's material for the account (admin removal, reset-2fa). */
  removeAll(userId: number): Promise<void>
}

/**
 * Every kind of second factor an account can have, over one database: the one list the server
 * (src/services.ts) and the command line (`lectern reset-2fa`) both use. A new kind is added here.
 */
export function secondFactorSources(deps: { db: Kysely<Database> }): SecondFactorSource[] {
  return [
    createTotpSecondFactor(createTwoFactorRepository(deps.db)),
    createPasskeySecondFactor({ repository: createPasskeysRepository(deps.db) }),
  ]
}

/** The TOTP factor (with its recovery codes) as one of the account's second factors. */
export function createTotpSecondFactor(repository: TwoFactorRepository): SecondFactorSource {
  return {
    kind: 'totp',
    hasAny: (userId) => repository.hasEnabledTotp(userId),
    removeAll: (userId) => repository.removeTotp(userId),
  }
}

/** The sources together: what the rest of the application asks. */
export interface SecondFactors {
  readonly sources: readonly SecondFactorSource[]
  /** True when any source has a factor in force for the account. */
  enabled(userId: number): Promise<boolean>
  /** Removes every factor of every source (a lost phone); returns the kinds that had one. */
  removeAll(userId: number): Promise<Array<SecondFactorSource['kind']>>
}

export function createSecondFactors(sources: readonly SecondFactorSource[]): SecondFactors {
  return {
    sources,
    async enabled(userId) {
      for (const source of sources) if (await source.hasAny(userId)) return true
      return false
    },
    async removeAll(userId) {
      const removed: Array<SecondFactorSource['kind']> = []
      for (const source of sources) {
        if (await source.hasAny(userId)) removed.push(source.kind)
        await source.removeAll(userId)
      }
      return removed
    },
  }
}
