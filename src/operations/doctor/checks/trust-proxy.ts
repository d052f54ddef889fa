import { ok, problem, type DoctorCheck } from '../types.ts'

/** `[::1]` → `::1`: URL keeps IPv6 hosts in brackets, HOST is written without. */
const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1').toLowerCase()

/**
 * People reach Lectern at another host than the one it listens on: something forwards their
 * requests. Without TRUST_PROXY every client seems to be that proxy, and one client's rate-limit
 * block locks everyone out.
 */
export const trustProxyCheck: DoctorCheck = {
  name: 'trust-proxy',
  level: 'WARN',
  fix: 'set TRUST_PROXY to the address of the reverse proxy (or its hop count)',
  scope: 'any',
  async run({ config }) {
    if (config.trustProxy !== false) return ok('TRUST_PROXY is set: client addresses come from X-Forwarded-For')
    if (!config.publicUrlConfigured) return ok('PUBLIC_URL is the listening address: no proxy in between')
    const publicHost = bare(new URL(config.publicUrl).hostname)
    if (publicHost === bare(config.host)) return ok(`PUBLIC_URL's host is the listening address ${config.host}`)
    return problem(
      `PUBLIC_URL's host ${publicHost} is not the listening address ${config.host}, and TRUST_PROXY is off: ` +
        'every client looks like the proxy',
    )
  },
}
