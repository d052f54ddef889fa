/**
 * Constraint errors of both databases, recognised in one place. better-sqlite3 sets `code` to
 * SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_FOREIGNKEY and names the columns in its message
 * ("UNIQUE constraint failed: users.username_lower"); pg sets the SQLSTATE (23505, 23503) with
 * the constraint's name and a detail ("Key (username_lower)=(ada) already exists.").
 */
const UNIQUE_CODES: ReadonlySet<unknown> = new Set(['SQLITE_CONSTRAINT_UNIQUE', '23505'])
const FOREIGN_KEY_CODES: ReadonlySet<unknown> = new Set(['SQLITE_CONSTRAINT_FOREIGNKEY', '23503'])

function fieldsOf(error: unknown): Record<string, unknown> | null {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : null
}

/** A unique index or primary key refused the write. */
export function isUniqueViolation(error: unknown): boolean {
  return UNIQUE_CODES.has(fieldsOf(error)?.code)
}

/** A foreign key refused the write: the row it points to does not exist (any more). */
export function isForeignKeyViolation(error: unknown): boolean {
  return FOREIGN_KEY_CODES.has(fieldsOf(error)?.code)
}

/**
 * Whether a unique violation is about `column`: its name appears in SQLite's message, or in
 * PostgreSQL's constraint name or detail. False for any other error.
 */
export function isUniqueViolationOf(error: unknown, column: string): boolean {
  if (!isUniqueViolation(error)) return false
  const { message, constraint, detail } = fieldsOf(error)!
  return [message, constraint, detail].some((text) => typeof text === 'string' && text.includes(column))
}
