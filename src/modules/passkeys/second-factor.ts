import type { PasskeysRepository } from './passkeys.repository.ts'

/**
 * The same interface as the two-factor module's list of second factors
 * (src/modules/two-factor/second-factors.ts, SecondFactorSource): declared here until both are
 * in one tree, then this declaration gives way to an import of that one.
 */
export interface SecondFactorSource {
  readonly kind: 'totp' | 'passkey'
  /** Whether the account has this factor in force. */
  hasAny(userId: number): Promise<boolean>
  /** Removes this factor's material for the account (admin removal, reset-2fa). */
  removeAll(userId: number): Promise<void>
}

/**
 * Passkeys as a second factor: an account with one is never signed in by its password alone,
 * and removing second factors (a lost phone) removes its passkeys.
 */
export function createPasskeySecondFactor(deps: { repository: PasskeysRepository }): SecondFactorSource {
  return {
    kind: 'passkey',
    hasAny: (userId) => deps.repository.hasAny(userId),
    async removeAll(userId) {
      await deps.repository.removeAll(userId)
    },
  }
}
