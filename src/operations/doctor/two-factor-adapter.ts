import type { Config } from '../../config/index.ts'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { createDoctorRepository } from './doctor.repository.ts'
import type { Require2faFor } from './types.ts'

/*
 * WIRING (two-factor sign-in, CONTRACT §11): the two readings the "admin-two-factor" check needs
 * from the two-factor module, kept in this one file so that plugging it in changes nothing else.
 *  - require2faForOf: REQUIRE_2FA_FOR once the configuration parses it (config.require2faFor);
 *  - adminsWithoutSecondFactor: the module's list of second-factor sources (TOTP, passkeys) asked
 *    for each active admin: pass `(id) => anyOf(sources, (s) => s.hasAny(id))` as `hasSecondFactor`.
 */

const SETTINGS: readonly Require2faFor[] = ['none', 'admin', 'staff']

/** config.require2faFor, read defensively: 'none' when the configuration does not have it (yet). */
export function require2faForOf(config: Config): Require2faFor {
  const value = (config as Config & { require2faFor?: unknown }).require2faFor
  return SETTINGS.includes(value as Require2faFor) ? (value as Require2faFor) : 'none'
}

/**
 * Usernames of active admins without a second factor. Without `hasSecondFactor` (until the
 * two-factor module is wired in) no account has one, so every active admin is listed.
 */
export function adminsWithoutSecondFactorFrom(
  db: Kysely<Database>,
  hasSecondFactor?: (userId: number) => Promise<boolean>,
): () => Promise<string[]> {
  return async () => {
    const admins = await createDoctorRepository(db).activeAdmins()
    if (!hasSecondFactor) return admins.map((admin) => admin.username)
    const flags = await Promise.all(admins.map((admin) => hasSecondFactor(admin.id)))
    return admins.filter((_, index) => !flags[index]).map((admin) => admin.username)
  }
}
