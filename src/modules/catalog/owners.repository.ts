import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { ContentKind } from './content-kind.ts'

/** The column of work_owners naming a work of this kind (exactly one of the two is set). */
const OWNER_COLUMN = { course: 'course_id', ebook: 'ebook_id' } as const satisfies Record<ContentKind, string>
const WORK_TABLE = { course: 'courses', ebook: 'ebooks' } as const satisfies Record<ContentKind, string>

export interface OwnerRow {
  id: number
  username: string
  display_name: string
  role: 'learner' | 'instructor' | 'admin'
}

/** Who owns the courses and ebooks of one kind (CONTRACT §12). Pass a transaction to run inside it. */
export function createOwnersRepository(db: Kysely<Database>, kind: ContentKind) {
  const column = OWNER_COLUMN[kind]
  return {
    async list(workId: number): Promise<OwnerRow[]> {
      return db
        .selectFrom('work_owners')
        .innerJoin('users', 'users.id', 'work_owners.user_id')
        .select(['users.id', 'users.username', 'users.display_name', 'users.role'])
        .where(`work_owners.${column}`, '=', workId)
        .orderBy('users.username_lower')
        .execute()
    },

    /** Every owner of each of these works, by work id. */
    async listFor(workIds: readonly number[]): Promise<Map<number, OwnerRow[]>> {
      const byWork = new Map<number, OwnerRow[]>(workIds.map((id) => [id, []]))
      if (workIds.length === 0) return byWork
      const rows = await db
        .selectFrom('work_owners')
        .innerJoin('users', 'users.id', 'work_owners.user_id')
        .select([`work_owners.${column} as work_id`, 'users.id', 'users.username', 'users.display_name', 'users.role'])
        .where(`work_owners.${column}`, 'in', [...workIds])
        .orderBy('users.username_lower')
        .execute()
      for (const { work_id: workId, ...owner } of rows) byWork.get(workId as number)?.push(owner)
      return byWork
    },

    async isOwner(workId: number, userId: number): Promise<boolean> {
      const row = await db
        .selectFrom('work_owners')
        .select('id')
        .where(column, '=', workId)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return row !== undefined
    },

    /** The ids of the works of this kind the user owns. */
    async ownedBy(userId: number): Promise<Set<number>> {
      const rows = await db.selectFrom('work_owners').select(column).where('user_id', '=', userId).execute()
      return new Set(rows.flatMap((row) => (row[column] === null ? [] : [row[column]])))
    },

    async add(workId: number, userId: number): Promise<void> {
      await db
        .insertInto('work_owners')
        .values({ course_id: null, ebook_id: null, [column]: workId, user_id: userId })
        .execute()
    },

    /**
     * Makes these users the work's owners, and only them. Run it in a transaction: the first
     * statement locks the work's row (an update that changes nothing), so two admins replacing
     * the list at once take turns, and the second's list wins whole instead of a unique-key error.
     */
    async replace(workId: number, userIds: readonly number[]): Promise<void> {
      await db.updateTable(WORK_TABLE[kind]).set({ id: workId }).where('id', '=', workId).execute()
      await db.deleteFrom('work_owners').where(column, '=', workId).execute()
      if (userIds.length === 0) return
      await db
        .insertInto('work_owners')
        .values(userIds.map((userId) => ({ course_id: null, ebook_id: null, [column]: workId, user_id: userId })))
        .execute()
    },
  }
}

export type OwnersRepository = ReturnType<typeof createOwnersRepository>
