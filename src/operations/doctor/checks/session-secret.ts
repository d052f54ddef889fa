import { join } from 'node:path'
import { SECRET_FILE_NAME } from '../../../config/secret.ts'
import { PRIVATE_FILE_MODE } from '../../../lib/private-files.ts'
import { privacyOf } from '../file-privacy.ts'
import { ok, problem, type DoctorCheck } from '../types.ts'

/** Whoever reads the secret can forge CSRF tokens: the generated one stays 0600, the server's own. */
export const sessionSecretCheck: DoctorCheck = {
  name: 'session-secret',
  level: 'FAIL',
  fix: 'chmod 0600 DATA_DIR/session-secret and chown it to the user Lectern runs as',
  scope: 'any',
  async run({ config, uid }) {
    // Never its value, nor its length: only where it comes from.
    if (config.sessionSecret !== null) return ok('SESSION_SECRET is set in the environment')
    const path = join(config.dataDir, SECRET_FILE_NAME)
    return privacyOf(path, {
      what: 'the session secret',
      maxMode: PRIVATE_FILE_MODE,
      uid,
      kind: 'file',
      missing: problem(`the session secret ${path} does not exist yet`, {
        level: 'WARN',
        fix: 'start the server once (it generates the secret with mode 0600), or set SESSION_SECRET',
      }),
    })
  },
}
