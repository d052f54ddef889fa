import type { DoctorCheck } from '../types.ts'
import { adminTwoFactorCheck } from './admin-two-factor.ts'
import { adminsCheck } from './admins.ts'
import { backupsCheck } from './backups.ts'
import { configurationCheck } from './configuration.ts'
import { dataDirCheck } from './data-dir.ts'
import { databaseFileCheck } from './database-file.ts'
import { databaseCheck } from './database.ts'
import { diskSpaceCheck } from './disk-space.ts'
import { logFileCheck } from './log-file.ts'
import { metricsTokenCheck } from './metrics-token.ts'
import { nodeVersionCheck } from './node-version.ts'
import { publicUrlCheck } from './public-url.ts'
import { redisCheck } from './redis.ts'
import { sessionSecretCheck } from './session-secret.ts'
import { smtpCheck } from './smtp.ts'
import { trustProxyCheck } from './trust-proxy.ts'

/** Every readiness check, in the order of the report (CONTRACT §16). A new check: a file and a line here. */
export const CHECKS: readonly DoctorCheck[] = [
  configurationCheck,
  dataDirCheck,
  databaseFileCheck,
  sessionSecretCheck,
  databaseCheck,
  redisCheck,
  smtpCheck,
  publicUrlCheck,
  trustProxyCheck,
  adminsCheck,
  adminTwoFactorCheck,
  metricsTokenCheck,
  logFileCheck,
  diskSpaceCheck,
  nodeVersionCheck,
  backupsCheck,
]
