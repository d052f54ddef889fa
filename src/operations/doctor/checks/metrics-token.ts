import { ok, problem, type DoctorCheck } from '../types.ts'

/**
 * The configuration accepts 16 characters at least (CONTRACT §2); a token people type is that
 * short, a generated one is longer. 32 characters of `openssl rand -hex 16` are 128 bits.
 */
export const RECOMMENDED_METRICS_TOKEN_LENGTH = 32

export const metricsTokenCheck: DoctorCheck = {
  name: 'metrics-token',
  level: 'WARN',
  fix: `generate one: METRICS_TOKEN=$(openssl rand -hex ${RECOMMENDED_METRICS_TOKEN_LENGTH / 2})`,
  scope: 'any',
  async run({ config }) {
    if (config.metricsToken === null) return ok('METRICS_TOKEN is not set: /metrics is off')
    // Its length only, never the token.
    const length = config.metricsToken.length
    if (length < RECOMMENDED_METRICS_TOKEN_LENGTH) {
      return problem(`METRICS_TOKEN is ${length} characters, fewer than ${RECOMMENDED_METRICS_TOKEN_LENGTH}`)
    }
    return ok(`METRICS_TOKEN is ${length} characters`)
  },
}
