import type { ConfigError } from '../../../config/index.ts'
import { ok, type DoctorCheck, type Finding } from '../types.ts'

const FIX = 'correct that variable in the environment or .env (README, "Configuration")'

/** A running server's configuration was valid when it started: the CLI alone reports it. */
export const configurationCheck: DoctorCheck = {
  name: 'configuration',
  level: 'FAIL',
  fix: FIX,
  scope: 'cli',
  run: async () => ok('every variable is valid'),
}

/**
 * The one finding when the configuration is invalid: no other check can run without it. The
 * message names the variable and never repeats a secret's value (config/mail.ts words them so).
 */
export function configurationFailure(error: ConfigError): Finding {
  return { check: configurationCheck.name, level: 'FAIL', message: error.message, fix: FIX }
}
