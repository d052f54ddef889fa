import autocannon from 'autocannon'

export interface LoadResult {
  requestsPerSecond: number
  totalRequests: number
  p50Ms: number
  p99Ms: number
  errors: number
  non2xx: number
}

/** A fixed-duration load from this process against one URL, loopback only. */
export async function load(
  url: string,
  opts: { connections?: number; durationSeconds?: number; method?: string; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url))
    throw new Error(`refusing to load ${url}: loopback only`)
  const result = await autocannon({
    url,
    connections: opts.connections ?? 10,
    duration: opts.durationSeconds ?? 5,
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
  })
  return {
    requestsPerSecond: result.requests.average,
    totalRequests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  }
}

export function table(rows: Array<Record<string, string | number>>): string {
  const headers = Object.keys(rows[0] ?? {})
  const cells = rows.map((row) => headers.map((h) => String(row[h])))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ')
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}
