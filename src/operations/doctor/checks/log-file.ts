import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ok, problem, type DoctorCheck } from '../types.ts'

/** The log sink creates and rotates files in LOG_FILE's folder: it must be able to write there. */
export const logFileCheck: DoctorCheck = {
  name: 'log-file',
  level: 'FAIL',
  fix: "create LOG_FILE's folder and let the user Lectern runs as write in it",
  scope: 'any',
  async run({ config }) {
    if (config.logFile === null) return ok('LOG_FILE is not set: logs go to standard output only')
    const folder = dirname(config.logFile)
    try {
      await access(folder, constants.W_OK)
      return ok(`LOG_FILE's folder ${folder} is writable`)
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not writable'
      return problem(`LOG_FILE's folder ${folder} ${reason}`)
    }
  },
}
