import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from 'kysely'
import { LRUCache } from 'lru-cache'

/**
 * The application's queries are a few dozen distinct SQL strings; lists of varying length
 * (`in (?, ?, …)`) add some more. Past this many, the least recently used is dropped.
 */
export const MAX_PREPARED_STATEMENTS = 256

/**
 * better-sqlite3 for Kysely, keeping each SQL string's prepared statement. Kysely's SQLite
 * driver prepares every query anew, which cost more than running it: about a fifth of a
 * typical request's CPU (docs/benchmarks.md, bench/scale). SQLite re-prepares a kept
 * statement by itself when a migration changes the schema under it.
 */
export function withPreparedStatements(sqlite: SQLite.Database, max = MAX_PREPARED_STATEMENTS): SqliteDatabase {
  const statements = new LRUCache<string, SQLite.Statement>({ max })
  return {
    prepare(sql) {
      const kept = statements.get(sql)
      // A statement still iterating (a streamed query) cannot run again: that caller gets its own.
      if (kept && !kept.busy) return kept
      const statement = sqlite.prepare(sql)
      if (!kept) statements.set(sql, statement)
      return statement
    },
    close() {
      statements.clear()
      sqlite.close()
    },
  }
}
