import { sql, type Kysely } from 'kysely'
import { dialectOf } from '../../db/dialect.ts'
import type { Database, UsersTable } from '../../db/schema.ts'
import { lowerKey, USER_COLUMNS, type UserRecord } from '../accounts/accounts.repository.ts'

export type Role = UsersTable['role']

/** `%` and `_` in a search are characters to find, not wildcards. */
function likePattern(query: string): string {
  return `%${query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** User queries of the admin API and `lectern create-admin`. Pass a transaction to run them inside it. */
export function createAdminRepository(db: Kysely<Database>) {
  return {
    /** A page of users, oldest first, matching `query` in the username or email (case-insensitive). */
    async listUsers(opts: {
      query: string
      limit: number
      offset: number
    }): Promise<{ users: UserRecord[]; total: number }> {
      const pattern = opts.query === '' ? null : likePattern(opts.query)
      const base = db
        .selectFrom('users')
        // ESCAPE spelled out: SQLite has no default escape character for LIKE.
        .$if(pattern !== null, (q) =>
          q.where(
            sql<boolean>`(username_lower like ${pattern} escape '\\' or email_lower like ${pattern} escape '\\')`,
          ),
        )
      const [users, count] = await Promise.all([
        base.select(USER_COLUMNS).orderBy('id').limit(opts.limit).offset(opts.offset).execute(),
        base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      ])
      return { users, total: Number(count.total) }
    },

    findById(id: number): Promise<UserRecord | undefined> {
      return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst()
    },

    findByUsername(username: string): Promise<UserRecord | undefined> {
      return db
        .selectFrom('users')
        .select(USER_COLUMNS)
        .where('username_lower', '=', lowerKey(username))
        .executeTakeFirst()
    },

    /**
     * Ids of the admins who can sign in. On PostgreSQL their rows are locked until the
     * transaction ends, so two admins demoting each other at the same moment are serialised and
     * the second sees the first's change; SQLite serialises write transactions anyway.
     */
    async lockActiveAdminIds(): Promise<number[]> {
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where('role', '=', 'admin')
        .where('disabled', '=', 0)
        .$if(dialectOf(db) === 'postgres', (q) => q.forUpdate())
        .execute()
      return rows.map((row) => row.id)
    },

    async update(
      id: number,
      changes: { role?: Role; disabled?: boolean; emailVerified?: true },
      nowMs: number,
    ): Promise<UserRecord | undefined> {
      return db
        .updateTable('users')
        .set({
          ...(changes.role === undefined ? {} : { role: changes.role }),
          ...(changes.disabled === undefined ? {} : { disabled: changes.disabled ? 1 : 0 }),
          ...(changes.emailVerified ? { email_verified: 1 } : {}),
          updated_at: nowMs,
        })
        .where('id', '=', id)
        .returning(USER_COLUMNS)
        .executeTakeFirst()
    },

    /** Deletes the user; their sessions, enrollments, completions and reading positions go with them (ON DELETE CASCADE). */
    async delete(id: number): Promise<boolean> {
      const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
  }
}

export type AdminRepository = ReturnType<typeof createAdminRepository>
