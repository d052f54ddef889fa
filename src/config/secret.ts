import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPrivateDir } from '../lib/private-files.ts'
import { ConfigError, MIN_SESSION_SECRET_BYTES } from './index.ts'

export const SECRET_FILE_NAME = 'session-secret'

/**
 * The configured SESSION_SECRET, or the one generated on first start and kept in DATA_DIR.
 * The file is created with mode 0600 (exclusive create, so two instances starting at once
 * cannot each write a different secret).
 */
export function ensureSessionSecret(configured: string | null, dataDir: string): string {
  if (configured !== null) return configured
  createPrivateDir(dataDir)
  const path = join(dataDir, SECRET_FILE_NAME)
  try {
    writeFileSync(path, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  // A secret readable by others is as good as published: tighten it rather than trust it.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  const secret = readFileSync(path, 'utf8').trim()
  if (Buffer.byteLength(secret) < MIN_SESSION_SECRET_BYTES) {
    throw new ConfigError('SESSION_SECRET', `the secret in ${path} is shorter than ${MIN_SESSION_SECRET_BYTES} bytes`)
  }
  return secret
}
