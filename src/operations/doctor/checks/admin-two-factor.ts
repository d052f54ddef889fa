import { ok, problem, type DoctorCheck } from '../types.ts'

/** Names shown at most, so a large staff does not make one finding a page long. */
const MAX_NAMES_SHOWN = 5

/** An admin signing in by password alone is one phished password away from the whole installation. */
export const adminTwoFactorCheck: DoctorCheck = {
  name: 'admin-two-factor',
  level: 'WARN',
  fix: 'have those admins turn on two-factor sign-in on their profile, or set REQUIRE_2FA_FOR=admin',
  scope: 'any',
  async run({ database, require2faFor, adminsWithoutSecondFactor }) {
    if (require2faFor === 'admin' || require2faFor === 'staff') {
      return ok(`REQUIRE_2FA_FOR=${require2faFor}: admins must use two-factor sign-in`)
    }
    if (database === null) return problem('cannot be checked: the database cannot be opened', { fix: 'see "database"' })
    const without = await adminsWithoutSecondFactor()
    if (without.length === 0) return ok('every admin has two-factor sign-in')
    const shown = without.slice(0, MAX_NAMES_SHOWN).join(', ')
    const more = without.length > MAX_NAMES_SHOWN ? ` and ${without.length - MAX_NAMES_SHOWN} more` : ''
    return problem(`${without.length} admin(s) sign in with a password alone: ${shown}${more}`)
  },
}
