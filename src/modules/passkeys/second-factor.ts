import type { SecondFactorSource } from '../two-factor/second-factors.ts'
import type { PasskeysRepository } from './passkeys.repository.ts'

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
