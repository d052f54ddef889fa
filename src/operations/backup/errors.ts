/**
 * A backup or restore refused for what it was given (a damaged or foreign archive, a target
 * that is not empty, a missing pg_dump): exit status 2, with this message, and nothing changed.
 */
export class BackupError extends Error {
  override name = 'BackupError'
}
