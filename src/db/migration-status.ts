import { sql, type Kysely } from 'kysely'
import { DEFAULT_MIGRATION_TABLE } from 'kysely/migration'
import { migrations } from './migrations/index.ts'

/** Migration names sort by their number (migrations/index.ts). */
export const KNOWN_MIGRATIONS: readonly string[] = Object.keys(migrations).sort()
/** The schema version of this Lectern: the name of its newest migration. */
export const LATEST_MIGRATION: string = KNOWN_MIGRATIONS.at(-1)!

export interface MigrationStatus {
  /** Names recorded in Kysely's migration table, in order. */
  applied: string[]
  /** Known here and not applied yet: the next start applies them. */
  pending: string[]
  /** Applied, but unknown here: the database was migrated by a newer Lectern. */
  unknown: string[]
}

const UNDEFINED_TABLE = '42P01'

/**
 * What Kysely's migrator has recorded, compared with this Lectern's migrations, read without
 * changing anything (the migrator itself would create its tables and take a lock).
 */
export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus> {
  let applied: string[]
  try {
    const { rows } = await sql<{
      name: string
    }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)} order by name`.execute(db)
    applied = rows.map((row) => row.name)
  } catch (error) {
    // No migration table: a database nothing was ever migrated in.
    const { code, message } = error as { code?: unknown; message?: string }
    if (code !== UNDEFINED_TABLE && !/no such table/.test(message ?? '')) throw error
    applied = []
  }
  const recorded = new Set(applied)
  return {
    applied,
    pending: KNOWN_MIGRATIONS.filter((name) => !recorded.has(name)),
    unknown: applied.filter((name) => !(name in migrations)),
  }
}
