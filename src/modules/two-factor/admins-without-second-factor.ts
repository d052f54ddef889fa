import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { createSecondFactors, secondFactorSources, type SecondFactors } from './second-factors.ts'

/**
 * The usernames of active admins with no second factor in force: what the readiness check
 * (`lectern doctor`) warns about, since an admin's password alone then opens everything.
 */
export function adminsWithoutSecondFactor(deps: {
  db: Kysely<Database>
  secondFactors: Pick<SecondFactors, 'enabled'>
}): () => Promise<string[]> {
  return async () => {
    const admins = await deps.db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('role', '=', 'admin')
      .where('disabled', '=', 0)
      .orderBy('username')
      .execute()
    const missing: string[] = []
    for (const admin of admins) if (!(await deps.secondFactors.enabled(admin.id))) missing.push(admin.username)
    return missing
  }
}

/** The same over a database alone, with every kind of second factor (the readiness checks). */
export function adminsWithoutSecondFactorIn(db: Kysely<Database>): () => Promise<string[]> {
  return adminsWithoutSecondFactor({ db, secondFactors: createSecondFactors(secondFactorSources({ db })) })
}
