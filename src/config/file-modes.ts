import { basename, dirname } from 'node:path'
import { SQLITE_FILE_NAME } from '../db/database.ts'
import {
  filesIn,
  LOG_FILE_MODE,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  tightenMode,
  type TightenedMode,
} from '../lib/private-files.ts'
import { rotatedPattern } from '../logging/file-sink.ts'
import type { Config } from './index.ts'
import { SECRET_FILE_NAME } from './secret.ts'

/** What Lectern itself writes in DATA_DIR: the SQLite database with its journals, and the secret. */
const DATA_FILE_NAMES = new Set([
  SQLITE_FILE_NAME,
  `${SQLITE_FILE_NAME}-wal`,
  `${SQLITE_FILE_NAME}-shm`,
  `${SQLITE_FILE_NAME}-journal`,
  SECRET_FILE_NAME,
])

/**
 * Start-up: takes away what others may do with what an earlier version or an operator left
 * readable (a 0755 DATA_DIR, a 0644 database, a 0644 log). DATA_DIR becomes at most 0700, its
 * files 0600, LOG_FILE and its rotated files 0640. Returns every change, for the caller to log.
 */
export function tightenStoredFileModes(config: Pick<Config, 'dataDir' | 'logFile'>): TightenedMode[] {
  const changes: Array<TightenedMode | null> = [tightenMode(config.dataDir, PRIVATE_DIR_MODE)]
  for (const path of filesIn(config.dataDir, (name) => DATA_FILE_NAMES.has(name))) {
    changes.push(tightenMode(path, PRIVATE_FILE_MODE))
  }
  if (config.logFile) {
    const pattern = rotatedPattern(config.logFile)
    const live = basename(config.logFile)
    for (const path of filesIn(dirname(config.logFile), (name) => name === live || pattern.test(name))) {
      changes.push(tightenMode(path, LOG_FILE_MODE))
    }
  }
  return changes.filter((change) => change !== null)
}
