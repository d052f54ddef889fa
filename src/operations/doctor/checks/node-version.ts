import { ok, problem, type DoctorCheck } from '../types.ts'

/** package.json's `engines.node`: >=22.12 (type stripping without a flag, require(esm)). */
export const MINIMUM_NODE_VERSION = [22, 12] as const

function parts(version: string): [number, number] {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number)
  return [major, minor]
}

export const nodeVersionCheck: DoctorCheck = {
  name: 'node-version',
  level: 'FAIL',
  fix: `install Node.js ${MINIMUM_NODE_VERSION.join('.')} or newer (an LTS release)`,
  scope: 'any',
  async run({ nodeVersion }) {
    const [major, minor] = parts(nodeVersion)
    const [needMajor, needMinor] = MINIMUM_NODE_VERSION
    const supported = major > needMajor || (major === needMajor && minor >= needMinor)
    if (!supported) return problem(`Node.js ${nodeVersion} is older than ${needMajor}.${needMinor}`)
    return ok(`Node.js ${nodeVersion} is supported`)
  },
}
