import { PRIVATE_DIR_MODE } from '../../../lib/private-files.ts'
import { privacyOf } from '../file-privacy.ts'
import { problem, type DoctorCheck } from '../types.ts'

/** DATA_DIR holds the database and the secret: nobody else on the machine may list or read it. */
export const dataDirCheck: DoctorCheck = {
  name: 'data-dir',
  level: 'FAIL',
  fix: 'chmod 0700 DATA_DIR and chown it to the user Lectern runs as',
  scope: 'any',
  run: ({ config, uid }) =>
    privacyOf(config.dataDir, {
      what: 'DATA_DIR',
      maxMode: PRIVATE_DIR_MODE,
      uid,
      kind: 'directory',
      missing: problem(`DATA_DIR ${config.dataDir} does not exist yet`, {
        level: 'WARN',
        fix: 'start the server once (it creates DATA_DIR with mode 0700), or restore a backup into it',
      }),
    }),
}
