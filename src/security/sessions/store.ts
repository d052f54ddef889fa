import { createHash, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Clock } from '../../lib/clock.ts'
import type { SessionPolicy } from './policy.ts'

/** 256 bits from the CSPRNG, base64url: 43 characters in the cookie. */
const SESSION_VALUE_BYTES = 32
const SESSION_VALUE_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function newSessionValue(): string {
  return randomBytes(SESSION_VALUE_BYTES).toString('base64url')
}

/** What the database keeps instead of the cookie value: a leaked table signs nobody in. */
export function hashSessionValue(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

/** Cheap refusal of junk before any hashing or query. */
export function isWellFormedSessionValue(value: unknown): value is string {
  return typeof value === 'string' && SESSION_VALUE_PATTERN.test(value)
}

export interface ResolvedSession {
  idHash: string
  userId: number | null
  /** The user's current role and state, read with the session (a role change applies at once). */
  user: { id: number; role: 'learner' | 'instructor' | 'admin'; disabled: boolean } | null
  lastSeenAt: number
  idleExpiresAt: number
  absoluteExpiresAt: number
}

export interface CreatedSession {
  /** The cookie value: handed to the client once, never stored. */
  value: string
  idHash: string
  absoluteExpiresAt: number
  /** How long the session can live at most: the cookie's Max-Age. */
  absoluteLifetimeMs: number
}

export type SessionStore = ReturnType<typeof createSessionStore>

/** Every query on the sessions table. Time comes from the injected clock. */
export function createSessionStore(deps: { db: Kysely<Database>; clock: Clock; policy: SessionPolicy }) {
  const { db, clock, policy } = deps
  // Per store (per app instance), not per process: tests and instances never share it.
  let lastPurgeAtMs = Number.NEGATIVE_INFINITY

  const lifetimes = (userId: number | null) =>
    userId === null
      ? { idleMs: policy.anonymousIdleMs, absoluteMs: policy.anonymousAbsoluteMs }
      : { idleMs: policy.userIdleMs, absoluteMs: policy.userAbsoluteMs }

  const store = {
    /** The live session for a cookie value, or null (unknown, malformed or expired: the expired row is deleted). */
    async find(value: string): Promise<ResolvedSession | null> {
      if (!isWellFormedSessionValue(value)) return null
      const idHash = hashSessionValue(value)
      const row = await db
        .selectFrom('sessions')
        .leftJoin('users', 'users.id', 'sessions.user_id')
        .select([
          'sessions.id_hash',
          'sessions.user_id',
          'sessions.last_seen_at',
          'sessions.idle_expires_at',
          'sessions.absolute_expires_at',
          'users.id as uid',
          'users.role',
          'users.disabled',
        ])
        .where('sessions.id_hash', '=', idHash)
        .executeTakeFirst()
      if (!row) return null
      const now = clock.now()
      if (now >= row.idle_expires_at || now >= row.absolute_expires_at) {
        await store.delete(idHash)
        return null
      }
      return {
        idHash,
        userId: row.user_id,
        user:
          row.uid === null || row.role === null
            ? null
            : { id: row.uid, role: row.role, disabled: Number(row.disabled) !== 0 },
        lastSeenAt: row.last_seen_at,
        idleExpiresAt: row.idle_expires_at,
        absoluteExpiresAt: row.absolute_expires_at,
      }
    },

    /** Slides the idle expiry, writing at most once per touch interval. */
    async touch(session: ResolvedSession): Promise<void> {
      const now = clock.now()
      if (now - session.lastSeenAt < policy.touchIntervalMs) return
      const idleExpiresAt = now + lifetimes(session.userId).idleMs
      await db
        .updateTable('sessions')
        .set({ last_seen_at: now, idle_expires_at: idleExpiresAt })
        .where('id_hash', '=', session.idHash)
        .execute()
      session.lastSeenAt = now
      session.idleExpiresAt = idleExpiresAt
    },

    /** A new session with a fresh random value (never derived from anything the client sent). */
    async create(userId: number | null): Promise<CreatedSession> {
      await store.purgeIfDue()
      const now = clock.now()
      const { idleMs, absoluteMs } = lifetimes(userId)
      const value = newSessionValue()
      const idHash = hashSessionValue(value)
      const absoluteExpiresAt = now + absoluteMs
      await db
        .insertInto('sessions')
        .values({
          id_hash: idHash,
          user_id: userId,
          created_at: now,
          last_seen_at: now,
          idle_expires_at: now + idleMs,
          absolute_expires_at: absoluteExpiresAt,
        })
        .execute()
      return { value, idHash, absoluteExpiresAt, absoluteLifetimeMs: absoluteMs }
    },

    /** The role of a user who may sign in now, or null when the account is missing or disabled. */
    async activeUser(userId: number): Promise<{ id: number; role: 'learner' | 'instructor' | 'admin' } | null> {
      const user = await db
        .selectFrom('users')
        .select(['id', 'role', 'disabled'])
        .where('id', '=', userId)
        .executeTakeFirst()
      return user && Number(user.disabled) === 0 ? { id: user.id, role: user.role } : null
    },

    async delete(idHash: string): Promise<void> {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute()
    },

    /** Ends every session of a user, optionally sparing one. Returns how many ended. */
    async deleteAllForUser(userId: number, exceptIdHash: string | null = null): Promise<number> {
      let query = db.deleteFrom('sessions').where('user_id', '=', userId)
      if (exceptIdHash !== null) query = query.where('id_hash', '!=', exceptIdHash)
      const result = await query.executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    /** Runs the purge when the last one on this instance is older than the purge interval. */
    async purgeIfDue(): Promise<void> {
      const now = clock.now()
      if (now - lastPurgeAtMs < policy.purgeIntervalMs) return
      lastPurgeAtMs = now
      await store.purge()
    },

    /**
     * Deletes expired sessions, then evicts the least recently seen anonymous sessions beyond
     * the cap. Signed-in sessions are never evicted: only expiry or an explicit end removes them.
     */
    async purge(): Promise<{ expired: number; evicted: number }> {
      const now = clock.now()
      const expired = await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('idle_expires_at', '<=', now), eb('absolute_expires_at', '<=', now)]))
        .executeTakeFirst()
      const counted = await db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', 'is', null)
        .executeTakeFirstOrThrow()
      const excess = Number(counted.n) - policy.maxAnonymousSessions
      let evicted = 0
      if (excess > 0) {
        const result = await db
          .deleteFrom('sessions')
          .where(
            'id_hash',
            'in',
            db
              .selectFrom('sessions')
              .select('id_hash')
              .where('user_id', 'is', null)
              .orderBy('last_seen_at', 'asc')
              .limit(excess),
          )
          .executeTakeFirst()
        evicted = Number(result.numDeletedRows)
      }
      return { expired: Number(expired.numDeletedRows), evicted }
    },
  }
  return store
}
