import { ok, problem, type DoctorCheck, type Outcome } from '../types.ts'

/**
 * Every link in an email starts with PUBLIC_URL; and its scheme must agree with COOKIE_SECURE, or
 * browsers drop the session cookie (Secure over http) or send it in clear (https without Secure).
 */
export const publicUrlCheck: DoctorCheck = {
  name: 'public-url',
  level: 'WARN',
  fix: 'set PUBLIC_URL to the https:// address people use to reach Lectern',
  scope: 'any',
  async run({ config }) {
    const https = config.publicUrl.startsWith('https:')
    const outcomes: Outcome[] = []
    if (!config.publicUrlConfigured) {
      outcomes.push(
        problem(`PUBLIC_URL is not set: links in emails point at the listening address ${config.publicUrl}`),
      )
    }
    if (config.cookieSecure === 'true' && !https) {
      outcomes.push(
        problem(
          `COOKIE_SECURE=true but PUBLIC_URL ${config.publicUrl} is not https: browsers will not send the cookie`,
          {
            level: 'FAIL',
            fix: 'serve Lectern over https and say so in PUBLIC_URL, or set COOKIE_SECURE=auto',
          },
        ),
      )
    }
    if (config.cookieSecure === 'false' && https) {
      outcomes.push(
        problem(`PUBLIC_URL is https but COOKIE_SECURE=false: session cookies may travel in clear`, {
          fix: 'set COOKIE_SECURE=auto (or true)',
        }),
      )
    }
    if (outcomes.length === 0) {
      outcomes.push(ok(`PUBLIC_URL is ${config.publicUrl}, and COOKIE_SECURE=${config.cookieSecure} agrees with it`))
    }
    return outcomes
  },
}
