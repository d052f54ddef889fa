import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { notFound } from '../../http/errors.ts'
import type { Clock } from '../../lib/clock.ts'
import { ROLE_RANK } from '../../security/authz.ts'
import type { SessionAdmin } from '../../security/sessions/types.ts'
import type { UserRecord } from '../accounts/accounts.repository.ts'
import { createAdminRepository, type AdminRepository, type Role } from './admin.repository.ts'

export const LAST_ADMIN_MESSAGE = 'The last admin cannot be demoted, disabled or deleted'
export const USER_NOT_FOUND_MESSAGE = 'User not found'

export const DEFAULT_PER_PAGE = 20
export const MAX_PER_PAGE = 100

export interface UserChanges {
  role?: Role
  disabled?: boolean
}

/** What changed, field by field, for the admin_action log line. */
export type ChangeRecord = Partial<Record<keyof UserChanges, { from: unknown; to: unknown }>>

/** Thrown inside the transaction so it rolls back; the route logs the refusal and answers 409. */
export class LastAdminError extends Error {
  constructor() {
    super(LAST_ADMIN_MESSAGE)
    this.name = 'LastAdminError'
  }
}

export function createAdminService(deps: { db: Kysely<Database>; clock: Clock; sessions: SessionAdmin }) {
  const { db, clock, sessions } = deps
  const repository = createAdminRepository(db)
  const inTransaction = <T>(work: (repo: AdminRepository) => Promise<T>) =>
    db.transaction().execute((trx) => work(createAdminRepository(trx)))

  /**
   * Refuses a change that would leave no admin able to sign in. The admins are locked before the
   * target is read, so neither can be stale when two admins act at the same moment.
   */
  async function checkedTarget(repo: AdminRepository, id: number, staysActiveAdmin: (user: UserRecord) => boolean) {
    const admins = await repo.lockActiveAdminIds()
    const target = await findTarget(repo, id)
    if (admins.length === 1 && admins[0] === target.id && !staysActiveAdmin(target)) throw new LastAdminError()
    return target
  }

  async function findTarget(repo: AdminRepository, id: number): Promise<UserRecord> {
    const user = await repo.findById(id)
    if (!user) throw notFound(USER_NOT_FOUND_MESSAGE)
    return user
  }

  return {
    async list(opts: { query?: string; page?: number; perPage?: number }) {
      const page = opts.page ?? 1
      const perPage = Math.min(opts.perPage ?? DEFAULT_PER_PAGE, MAX_PER_PAGE)
      const { users, total } = await repository.listUsers({
        query: (opts.query ?? '').trim(),
        limit: perPage,
        offset: (page - 1) * perPage,
      })
      return { users, total, page, perPage }
    },

    /**
     * Changes role and/or disabled. A demoted or disabled user is signed out everywhere at once,
     * so nobody keeps privileges (or access) they no longer have; a promotion takes effect in
     * the open sessions (the role is read with the session on every request).
     */
    async update(
      id: number,
      changes: UserChanges,
    ): Promise<{ user: UserRecord; change: ChangeRecord; signedOut: number }> {
      const { user, change } = await inTransaction(async (repo) => {
        const target = await checkedTarget(
          repo,
          id,
          (user) => (changes.role ?? user.role) === 'admin' && !(changes.disabled ?? user.disabled === 1),
        )
        const role = changes.role ?? target.role
        const disabled = changes.disabled ?? target.disabled === 1
        const change: ChangeRecord = {}
        if (role !== target.role) change.role = { from: target.role, to: role }
        if (disabled !== (target.disabled === 1)) change.disabled = { from: target.disabled === 1, to: disabled }
        const updated =
          Object.keys(change).length === 0 ? target : ((await repo.update(id, changes, clock.now())) ?? target)
        return { user: updated, change }
      })
      const demoted = change.role !== undefined && ROLE_RANK[user.role] < ROLE_RANK[change.role.from as Role]
      const endsSessions = demoted || change.disabled?.to === true
      const signedOut = endsSessions ? await sessions.endAllForUser(id) : 0
      return { user, change, signedOut }
    },

    /** Deletes the user with their progress (cascade) and ends their sessions. */
    async remove(id: number): Promise<{ user: UserRecord; signedOut: number }> {
      const user = await inTransaction(async (repo) => {
        const target = await checkedTarget(repo, id, () => false)
        await repo.delete(id)
        return target
      })
      // The rows are gone with the user (cascade); this also tells any other session store.
      const signedOut = await sessions.endAllForUser(id)
      return { user, signedOut }
    },
  }
}

export type AdminService = ReturnType<typeof createAdminService>
