// One burst of argon2id verifications at the production parameters, in a fresh process so its
// peak memory (VmHWM) is the burst's own. Prints one JSON line.
// Usage: node --import tsx bench/login/kdf-burst.ts MAX_CONCURRENT COUNT
import { readFileSync, writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createPasswordHasher } from '../../src/security/passwords.ts'

const [bound, count] = process.argv.slice(2).map(Number) as [number, number]
const statusKb = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1])

const hasher = createPasswordHasher({ maxConcurrent: bound, maxQueued: count })
const digest = await hasher.hash('bench: correct horse battery staple')
globalThis.gc?.()
// Linux: writing 5 to clear_refs resets the peak (VmHWM), so start-up's peak does not count.
writeFileSync('/proc/self/clear_refs', '5')
const baselineKb = statusKb('VmRSS')
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()
const start = performance.now()
await Promise.all(Array.from({ length: count }, () => hasher.verify(digest, 'bench: correct horse battery staple')))
const wallMs = performance.now() - start
delay.disable()
process.stdout.write(
  `${JSON.stringify({
    bound,
    count,
    wallMs,
    perSecond: (count / wallMs) * 1000,
    peakAboveBaselineMb: (statusKb('VmHWM') - baselineKb) / 1024,
    loopP99Ms: delay.percentile(99) / 1e6,
    loopMaxMs: delay.max / 1e6,
  })}\n`,
)
