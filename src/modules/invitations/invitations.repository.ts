import { sql, type Kysely } from 'kysely'
import { dialectOf } from '../../db/dialect.ts'
import type { Database, InvitationsTable } from '../../db/schema.ts'

export type InvitedRole = InvitationsTable['role']

/** The advisory lock key of issuing invitations (an arbitrary constant, unique in Lectern). */
const INVITATIONS_ISSUING_LOCK = 0x1ec7e41

export interface NewInvitation {
  tokenHash: string
  email: string
  emailLower: string
  role: InvitedRole
  courseId: number | null
  invitedBy: number | null
  nowMs: number
  expiresAt: number
}

/** A pending invitation as the admin list shows it: never its token, which is not stored. */
export interface PendingInvitation {
  id: number
  email: string
  role: InvitedRole
  course_slug: string | null
  course_title: string | null
  invited_by_username: string | null
  created_at: number
  expires_at: number
}

/** An invitation that still works, as the person holding its link sees it. */
export interface UsableInvitation {
  id: number
  email: string
  role: InvitedRole
  course_id: number | null
  course_slug: string | null
  course_title: string | null
}

/**
 * Invitations by their token's hash; the token itself never reaches this layer. Pass a
 * transaction to run the queries inside it.
 */
export function createInvitationsRepository(db: Kysely<Database>) {
  return {
    async findCourse(slug: string): Promise<{ id: number; slug: string; title: string } | undefined> {
      return db.selectFrom('courses').select(['id', 'slug', 'title']).where('slug', '=', slug).executeTakeFirst()
    },

    /** Which of these lower-cased addresses already belong to an account. */
    async registeredAddresses(emailsLower: readonly string[]): Promise<Set<string>> {
      if (emailsLower.length === 0) return new Set()
      const rows = await db.selectFrom('users').select('email_lower').where('email_lower', 'in', emailsLower).execute()
      return new Set(rows.map((row) => row.email_lower))
    },

    /**
     * Makes the issuing transactions take turns until they end (PostgreSQL: a transaction-scoped
     * advisory lock; SQLite runs one write transaction at a time anyway). Without it, two requests
     * inviting one address at once (a double-clicked form, two admins) each delete the pending
     * invitations the other cannot see yet and both insert: two working links, and revoking the
     * one on the list would leave the other working. Issuing is rare, so one lock for all is enough.
     */
    async lockIssuing(): Promise<void> {
      if (dialectOf(db) !== 'postgres') return
      await sql`select pg_advisory_xact_lock(${INVITATIONS_ISSUING_LOCK})`.execute(db)
    },

    /** A new invitation supersedes the address's pending ones: one working link per address. */
    async removePendingFor(emailsLower: readonly string[]): Promise<number> {
      if (emailsLower.length === 0) return 0
      const result = await db
        .deleteFrom('invitations')
        .where('email_lower', 'in', emailsLower)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    async insert(row: NewInvitation): Promise<number> {
      const inserted = await db
        .insertInto('invitations')
        .values({
          token_hash: row.tokenHash,
          email: row.email,
          email_lower: row.emailLower,
          role: row.role,
          course_id: row.courseId,
          invited_by: row.invitedBy,
          created_at: row.nowMs,
          expires_at: row.expiresAt,
          used_at: null,
          user_id: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return inserted.id
    },

    /** Invitations not used and not expired at `nowMs`, newest first. */
    async pending(nowMs: number): Promise<PendingInvitation[]> {
      return db
        .selectFrom('invitations')
        .leftJoin('courses', 'courses.id', 'invitations.course_id')
        .leftJoin('users', 'users.id', 'invitations.invited_by')
        .select([
          'invitations.id',
          'invitations.email',
          'invitations.role',
          'courses.slug as course_slug',
          'courses.title as course_title',
          'users.username as invited_by_username',
          'invitations.created_at',
          'invitations.expires_at',
        ])
        .where('invitations.used_at', 'is', null)
        .where('invitations.expires_at', '>', nowMs)
        .orderBy('invitations.created_at', 'desc')
        .orderBy('invitations.id', 'desc')
        .execute()
    },

    /** Deletes a pending invitation, so its link stops working. Returns its address, or undefined. */
    async revoke(id: number): Promise<{ email: string } | undefined> {
      return db
        .deleteFrom('invitations')
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .returning('email')
        .executeTakeFirst()
    },

    /** The invitation of a token that still works at `nowMs`, without consuming it. */
    async findUsable(tokenHash: string, nowMs: number): Promise<UsableInvitation | undefined> {
      return db
        .selectFrom('invitations')
        .leftJoin('courses', 'courses.id', 'invitations.course_id')
        .select([
          'invitations.id',
          'invitations.email',
          'invitations.role',
          'invitations.course_id',
          'courses.slug as course_slug',
          'courses.title as course_title',
        ])
        .where('invitations.token_hash', '=', tokenHash)
        .where('invitations.used_at', 'is', null)
        .where('invitations.expires_at', '>', nowMs)
        .executeTakeFirst()
    },

    /**
     * Consumes the invitation in one UPDATE: of two registrations racing with one invitation, the
     * database lets exactly one change the row. Returns what the account is made from, or
     * undefined when the invitation no longer works.
     */
    async consume(
      tokenHash: string,
      nowMs: number,
    ): Promise<{ id: number; email: string; role: InvitedRole; course_id: number | null } | undefined> {
      return db
        .updateTable('invitations')
        .set({ used_at: nowMs })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', nowMs)
        .returning(['id', 'email', 'role', 'course_id'])
        .executeTakeFirst()
    },

    async recordAccount(id: number, userId: number): Promise<void> {
      await db.updateTable('invitations').set({ user_id: userId }).where('id', '=', id).execute()
    },
  }
}

export type InvitationsRepository = ReturnType<typeof createInvitationsRepository>
