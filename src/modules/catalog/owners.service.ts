import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest, forbidden } from '../../http/errors.ts'
import { requestHook } from '../../http/hooks.ts'
import { requestEvent, type RequestUser } from '../../http/request-context.ts'
import { lowerKey } from '../accounts/accounts.repository.ts'
import type { WorkRow } from './catalog.repository.ts'
import { createCatalogRepository } from './catalog.repository.ts'
import type { ContentKind } from './content-kind.ts'
import { createOwnersRepository, type OwnerRow } from './owners.repository.ts'

/** At most this many owners in one request: a school's teaching team, not a user list. */
export const MAX_OWNERS = 50

/**
 * Who may change a course or an ebook (CONTRACT §12): admins change everything; an instructor
 * changes only what they own. The instructor who creates a work owns it; an imported work has no
 * owner until an admin names one. Owners are instructors or admins: a learner named as an owner
 * is refused (400), never promoted behind the admin's back — roles change on the users page.
 */
export function createOwnersService(deps: { db: Kysely<Database>; kind: ContentKind }) {
  const { db, kind } = deps
  const repository = createOwnersRepository(db, kind)
  const works = createCatalogRepository(db, kind)

  async function mayChange(user: RequestUser | null, workId: number): Promise<boolean> {
    if (user === null) return false
    if (user.role === 'admin') return true
    if (user.role !== 'instructor') return false
    return repository.isOwner(workId, user.id)
  }

  async function resolveOwners(usernames: readonly string[]): Promise<number[]> {
    const wanted = [...new Set(usernames.map(lowerKey))]
    if (wanted.length > MAX_OWNERS) throw badRequest(`At most ${MAX_OWNERS} owners`)
    const users =
      wanted.length === 0
        ? []
        : await db
            .selectFrom('users')
            .select(['id', 'username_lower', 'role'])
            .where('username_lower', 'in', wanted)
            .execute()
    const byName = new Map(users.map((user) => [user.username_lower, user]))
    for (const name of usernames) {
      const user = byName.get(lowerKey(name))
      if (!user) throw badRequest(`Unknown username: ${name}`)
      if (user.role === 'learner') throw badRequest(`${name} is a learner: owners must be instructors or admins`)
    }
    return users.map((user) => user.id)
  }

  async function replaceOwners(work: Pick<WorkRow, 'id'>, userIds: readonly number[]): Promise<OwnerRow[]> {
    await db.transaction().execute((trx) => createOwnersRepository(trx, kind).replace(work.id, userIds))
    return repository.list(work.id)
  }

  return {
    kind,
    repository,
    mayChange,

    list: (workId: number): Promise<OwnerRow[]> => repository.list(workId),
    listFor: (workIds: readonly number[]) => repository.listFor(workIds),
    ownedBy: (userId: number) => repository.ownedBy(userId),

    /**
     * An onRequest hook for a route that changes the work named by `:slug`: an instructor who does
     * not own it gets 403 (logged permission_denied) before any body is read or validated. An
     * unknown slug passes, so the route answers its own 404, exactly as it does for an admin.
     */
    guard: requestHook(
      (req) => req.user !== null && req.user.role !== 'admin',
      async (req: FastifyRequest) => {
        const slug = (req.params as { slug?: unknown }).slug
        if (typeof slug !== 'string') return
        const work = await works.findWorkBySlug(slug)
        if (!work || (await mayChange(req.user, work.id))) return
        requestEvent(req, 'warning', 'permission_denied', {
          extra: {
            required: 'owner',
            role: req.user?.role ?? null,
            route: req.routeOptions.url,
            kind,
            work_id: work.id,
          },
        })
        throw forbidden()
      },
    ),

    /**
     * The ids of these users (by username, any case), checked as owners: an unknown name or a
     * learner is refused with 400 naming the first of them. Checked before anything is changed.
     */
    resolve: (usernames: readonly string[]) => resolveOwners(usernames),

    /** Makes exactly these users the work's owners, in one transaction; the owners now. */
    replace: replaceOwners,

    /** resolve() then replace(): the owners named by these usernames, and only them. */
    setOwners: async (work: Pick<WorkRow, 'id'>, usernames: readonly string[]) =>
      replaceOwners(work, await resolveOwners(usernames)),
  }
}

export type OwnersService = ReturnType<typeof createOwnersService>
