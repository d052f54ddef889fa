import { readFileSync } from 'node:fs'
import { BackupError } from './errors.ts'

/** What a Lectern backup says it is; anything else is a foreign archive. */
export const BACKUP_FORMAT = 'lectern-backup'
/** Raised when the layout changes; a restore refuses a version it does not know. */
export const BACKUP_FORMAT_VERSION = 1
export const MANIFEST_PATH = 'manifest.json'
/** The database snapshot lives under this folder of the archive, DATA_DIR's other files under `data/`. */
export const DATABASE_FOLDER = 'database'
export const DATA_FOLDER = 'data'
export const SQLITE_SNAPSHOT_PATH = `${DATABASE_FOLDER}/lectern.sqlite`
export const POSTGRES_DUMP_PATH = `${DATABASE_FOLDER}/lectern.pgdump`

export type DatabaseKind = 'sqlite' | 'postgres'

export interface ManifestFile {
  /** The path inside the archive, `/`-separated, relative. */
  path: string
  size: number
  sha256: string
}

export interface Manifest {
  format: typeof BACKUP_FORMAT
  format_version: number
  lectern_version: string
  /** The name of the newest migration applied to the database when it was copied. */
  schema_version: string
  created_at: string
  database: DatabaseKind
  files: ManifestFile[]
}

export function lecternVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isFile = (value: unknown): value is ManifestFile =>
  isRecord(value) &&
  typeof value.path === 'string' &&
  Number.isSafeInteger(value.size) &&
  (value.size as number) >= 0 &&
  typeof value.sha256 === 'string' &&
  /^[0-9a-f]{64}$/.test(value.sha256)

/** manifest.json's text → a manifest of a format this Lectern reads, or a BackupError saying why not. */
export function parseManifest(text: string): Manifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BackupError('the archive is not a Lectern backup: its manifest.json is not JSON')
  }
  if (!isRecord(value) || value.format !== BACKUP_FORMAT) {
    throw new BackupError('the archive is not a Lectern backup: its manifest.json does not say so')
  }
  if (value.format_version !== BACKUP_FORMAT_VERSION) {
    throw new BackupError(
      `the backup's format version ${String(value.format_version)} is not one this Lectern reads (${BACKUP_FORMAT_VERSION})`,
    )
  }
  const valid =
    typeof value.lectern_version === 'string' &&
    typeof value.schema_version === 'string' &&
    typeof value.created_at === 'string' &&
    (value.database === 'sqlite' || value.database === 'postgres') &&
    Array.isArray(value.files) &&
    value.files.every(isFile)
  if (!valid) throw new BackupError("the backup's manifest.json is incomplete or malformed")
  return value as unknown as Manifest
}
