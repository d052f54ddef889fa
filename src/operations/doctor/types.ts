import type { StatsFs } from 'node:fs'
import type { Config } from '../../config/index.ts'
import type { DatabaseHandle } from '../../db/database.ts'

export type Level = 'OK' | 'WARN' | 'FAIL'

/** One line of the report: CONTRACT §16's `{check, level, message, fix}`; an OK has no fix. */
export interface Finding {
  check: string
  level: Level
  message: string
  fix: string | null
}

export interface DoctorReport {
  findings: Finding[]
  summary: { ok: number; warn: number; fail: number }
}

/** What a check answers: all is well, or a problem (at the check's level unless it says another). */
export type Outcome =
  { ok: true; message: string } | { ok: false; message: string; level?: 'WARN' | 'FAIL'; fix?: string }

export const ok = (message: string): Outcome => ({ ok: true, message })
export const problem = (message: string, more: { level?: 'WARN' | 'FAIL'; fix?: string } = {}): Outcome => ({
  ok: false,
  message,
  ...more,
})

/**
 * Everything a check reads, passed in: the CLI and the running server build it each their own
 * way, and tests replace any part (the clock, the file system's free space, the Node.js version).
 */
export interface DoctorContext {
  config: Config
  /** The database, opened without changing it; null with the reason when it could not be opened. */
  database: DatabaseHandle | null
  databaseError: string | null
  /** PING the configured Redis; absent when REDIS_URL is not set. */
  pingRedis?: () => Promise<void>
  /** EHLO the configured SMTP relay; absent when SMTP_URL is not set. */
  verifySmtp?: () => Promise<void>
  /** Usernames of active admins with no second factor in force. */
  adminsWithoutSecondFactor: () => Promise<string[]>
  require2faFor: Config['require2faFor']
  /** The user the server runs as: files in DATA_DIR must be theirs. */
  uid: number | null
  now: () => Date
  nodeVersion: string
  statfs: (path: string) => Promise<Pick<StatsFs, 'bavail' | 'bsize' | 'blocks'>>
}

export interface DoctorCheck {
  /** Short and stable: the `check` of each finding, kebab-case. */
  readonly name: string
  /** The level of a problem this check finds, unless the outcome names a milder or graver one. */
  readonly level: 'WARN' | 'FAIL'
  /** How to fix the problem, for the operator; an outcome may say something more precise. */
  readonly fix: string
  /**
   * 'cli': only `bin/lectern doctor` makes it (a running server already passed it); 'any': the
   * server's GET /api/admin/doctor makes it too.
   */
  readonly scope: 'cli' | 'any'
  run(ctx: DoctorContext): Promise<Outcome | Outcome[]>
}
