// bench/ratelimit, memory part: heap held by the in-memory limiter after N distinct keys, in a
// fresh process (its own heap), for one store. Prints one JSON line.
// Usage: node --import tsx bench/ratelimit/memory.ts bounded|unbounded N
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { createManualClock } from '../../src/lib/clock.ts'
import { MemoryCounterStore, MemoryRateLimiter } from '../../src/security/rate-limit/memory-store.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heapMb = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

const kind = process.argv[2]
const keys = Math.min(5_000_000, Number(process.argv[3] ?? 1_000_000))
const limiterOptions = { keyPrefix: 'login', points: 5, duration: 15 * 60 }
let fullWarnings = 0
let size = () => 0
const limiter =
  kind === 'bounded'
    ? (() => {
        const store = new MemoryCounterStore({ clock: createManualClock(), onFull: () => (fullWarnings += 1) })
        size = () => store.size
        return new MemoryRateLimiter({ storeClient: store, ...limiterOptions })
      })()
    : new RateLimiterMemory(limiterOptions)

const beforeMb = heapMb()
const startedMs = performance.now()
// Distinct IPv4-like keys, as a flood from as many clients would make them.
for (let i = 0; i < keys; i += 1)
  await limiter.consume(`ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${i >> 24}`)
const elapsedMs = performance.now() - startedMs
const afterMb = heapMb()
console.log(
  JSON.stringify({
    kind,
    keys,
    heapGrowthMb: afterMb - beforeMb,
    entries: kind === 'bounded' ? size() : keys,
    fullWarnings,
    nsPerConsume: (elapsedMs * 1e6) / keys,
  }),
)
process.exit(0) // RateLimiterMemory keeps one timer per key alive
