import { readdirSync, readFileSync } from 'node:fs'

// Linux's /proc/PID/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux build
// Node supports (the kernel's HZ differs, what /proc reports does not).
const TICKS_PER_SECOND = 100

/** utime + stime of one process, in seconds; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/**
 * The PIDs of every process whose command name is `name` (e.g. every PostgreSQL backend): on a
 * shared machine that includes other users' servers of the same name, so measure on a quiet one.
 */
export function pidsNamed(name: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry))
    } catch {
      // gone between the listing and the read
    }
  }
  return pids
}

/**
 * CPU seconds that groups of processes spend during `run`, and the wall time it took: the
 * share of the machine's cores each group used says which one is the bottleneck. Groups are
 * resolved to PIDs before and after, so processes started during the run (new database
 * backends) count from their first appearance.
 */
export async function measureCpu<T>(
  groups: Record<string, () => number[]>,
  run: () => Promise<T>,
): Promise<{ result: T; wallSeconds: number; cpuSeconds: Record<string, number>; selfCpuSeconds: number }> {
  const before = new Map<string, Map<number, number>>()
  for (const [name, pids] of Object.entries(groups)) {
    before.set(name, new Map(pids().map((pid) => [pid, processCpuSeconds(pid)])))
  }
  const selfBefore = process.cpuUsage()
  const started = process.hrtime.bigint()
  const result = await run()
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9
  const self = process.cpuUsage(selfBefore)
  const cpuSeconds: Record<string, number> = {}
  for (const [name, pids] of Object.entries(groups)) {
    const start = before.get(name)!
    const all = new Set([...start.keys(), ...pids()])
    cpuSeconds[name] = [...all].reduce(
      (sum, pid) => sum + Math.max(0, processCpuSeconds(pid) - (start.get(pid) ?? 0)),
      0,
    )
  }
  return { result, wallSeconds, cpuSeconds, selfCpuSeconds: (self.user + self.system) / 1e6 }
}
