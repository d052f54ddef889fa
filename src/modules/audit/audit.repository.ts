import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

/** A row as the writer hands it over: the username is looked up when it is written. */
export interface NewAuditRow {
  timestamp: number
  minute: number
  event: string
  user_id: number | null
  remote_addr: string
  request_id: string | null
  count: number
  /** JSON text. */
  extra: string
  /** COALESCED for a denial's per-minute row; a random id of its own for a granted action. */
  occurrence: string
}

/** The `occurrence` of a row that counts every event of its (event, remote_addr, minute). */
export const COALESCED = ''

export interface AuditRecord extends Omit<NewAuditRow, 'occurrence'> {
  id: number
  username: string | null
}

/** A position in the newest-first order: rows strictly older than this one come next. */
export interface AuditPosition {
  timestamp: number
  id: number
}

export interface AuditFilters {
  event?: string
  userId?: number
  /** Inclusive, milliseconds. */
  sinceMs?: number
  /** Exclusive, milliseconds. */
  untilMs?: number
}

const AUDIT_COLUMNS = [
  'id',
  'timestamp',
  'minute',
  'event',
  'user_id',
  'username',
  'remote_addr',
  'request_id',
  'count',
  'extra',
] as const

/** Rows per INSERT: 11 values each, far below both databases' limits on bound parameters. */
const ROWS_PER_STATEMENT = 500

export function createAuditRepository(db: Kysely<Database>) {
  return {
    /**
     * Writes the rows. A row whose (event, remote_addr, minute, occurrence) is already kept, by an
     * earlier batch or another instance, adds its count to that row, which keeps its first request
     * id, user and extra: only denials share a key (COALESCED); a granted action's random
     * occurrence makes it a row of its own. The rows given must have distinct keys (PostgreSQL
     * refuses to update one row twice in a statement): the writer coalesces them first.
     */
    async write(rows: readonly NewAuditRow[]): Promise<void> {
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(start, start + ROWS_PER_STATEMENT)
        const usernames = await usernamesOf(db, chunk)
        await db
          .insertInto('audit_events')
          .values(
            chunk.map((row) => ({
              ...row,
              username: row.user_id === null ? null : (usernames.get(row.user_id) ?? null),
            })),
          )
          .onConflict((oc) =>
            oc
              .columns(['event', 'remote_addr', 'minute', 'occurrence'])
              .doUpdateSet((eb) => ({ count: eb('audit_events.count', '+', eb.ref('excluded.count')) })),
          )
          .execute()
      }
    },

    /** Up to `limit` rows matching the filters, newest first (timestamp, then id), after `before`. */
    list(opts: { filters: AuditFilters; before: AuditPosition | null; limit: number }): Promise<AuditRecord[]> {
      const { filters, before } = opts
      return db
        .selectFrom('audit_events')
        .select(AUDIT_COLUMNS)
        .$if(filters.event !== undefined, (q) => q.where('event', '=', filters.event!))
        .$if(filters.userId !== undefined, (q) => q.where('user_id', '=', filters.userId!))
        .$if(filters.sinceMs !== undefined, (q) => q.where('timestamp', '>=', filters.sinceMs!))
        .$if(filters.untilMs !== undefined, (q) => q.where('timestamp', '<', filters.untilMs!))
        .$if(before !== null, (q) =>
          q.where((eb) =>
            eb.or([
              eb('timestamp', '<', before!.timestamp),
              eb.and([eb('timestamp', '=', before!.timestamp), eb('id', '<', before!.id)]),
            ]),
          ),
        )
        .orderBy('timestamp', 'desc')
        .orderBy('id', 'desc')
        .limit(opts.limit)
        .execute()
    },

    /** Deletes at most `maxRows` of the rows older than `cutoffMs`; returns how many went. */
    async deleteOlderThan(cutoffMs: number, maxRows: number): Promise<number> {
      const result = await db
        .deleteFrom('audit_events')
        .where('id', 'in', (eb) =>
          eb.selectFrom('audit_events').select('id').where('timestamp', '<', cutoffMs).limit(maxRows),
        )
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

/** The current usernames of the rows' users; a user deleted meanwhile has none. */
async function usernamesOf(db: Kysely<Database>, rows: readonly NewAuditRow[]): Promise<Map<number, string>> {
  const ids = [...new Set(rows.flatMap((row) => (row.user_id === null ? [] : [row.user_id])))]
  if (ids.length === 0) return new Map()
  const users = await db.selectFrom('users').select(['id', 'username']).where('id', 'in', ids).execute()
  return new Map(users.map((user) => [user.id, user.username]))
}

export type AuditRepository = ReturnType<typeof createAuditRepository>
