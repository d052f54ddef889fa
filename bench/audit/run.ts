/**
 * bench/audit: what the audit trail costs a security event, and a request.
 *
 *   node --import tsx bench/audit/run.ts [--rounds N] [--batch N]
 *
 * 1. The writer's record() alone, in this process, per event: a flood (one row whose count goes
 *    up) and distinct rows (each redacted and serialised), against the baseline every security
 *    event already pays, its log line (logEvent to a sink that discards the bytes).
 * 2. One write of a 500-row batch to SQLite (a WAL file, as the server runs it): new rows, and
 *    the same rows again (the upsert adding counts). better-sqlite3 is synchronous, so this is
 *    how long the event loop is held, at most once a second.
 * 3. Requests that each log a security event (a POST without a CSRF token: 403 csrf_violation),
 *    every one from a new address (X-Forwarded-For behind TRUST_PROXY=true), so each is a new
 *    row: the trail writing to a SQLite file, against the same app whose writer keeps nothing
 *    (maxPendingRows 0: each event is counted as dropped). Small batches of each alternate, and
 *    the overhead is the median of the per-round differences, robust to changes in machine load.
 *
 * Loopback only; every loop is bounded in count.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp, type AppDeps } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { migrateToLatest, openDatabase, sqlitePathFor, type DatabaseHandle } from '../../src/db/database.ts'
import { createManualClock, systemClock } from '../../src/lib/clock.ts'
import { createLogger, logEvent } from '../../src/logging/logger.ts'
import { createAuditWriter, type AuditEntry } from '../../src/modules/audit/audit-writer.ts'
import { COALESCED, createAuditRepository, type NewAuditRow } from '../../src/modules/audit/audit.repository.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '21' },
    batch: { type: 'string', default: '300' },
  },
})
const ROUNDS = Math.min(101, Math.max(3, Number(values.rounds)))
const BATCH = Math.min(5000, Math.max(10, Number(values.batch)))
const MICRO_EVENTS = 200_000
const DISTINCT_CHUNK = 5_000
const WRITE_ROWS = 500
const WRITE_REPEATS = 20

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
const nowNs = () => process.hrtime.bigint()
const nsSince = (started: bigint) => Number(nowNs() - started)

const EXTRA = { attempted_username_key: 'login_user:u:3f9a0c2b7d1e', reason: 'unknown_user', via: 'form' }
const entry = (remoteAddr: string): AuditEntry => ({
  event: 'auth_failure',
  userId: null,
  remoteAddr,
  requestId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  extra: EXTRA,
})

// ---------------------------------------------------------------- 1. record() alone

function perEventNs(run: (i: number) => void, events: number): number {
  for (let i = 0; i < 10_000; i++) run(i) // warm-up
  const started = nowNs()
  for (let i = 0; i < events; i++) run(i)
  return nsSince(started) / events
}

const discard = { write: () => {} }
const logger = createLogger({ level: 'info', sink: discard, clock: systemClock })
const logLineNs = perEventNs(
  () => logEvent(logger, 'warning', 'auth_failure', { user_id: null, extra: EXTRA }),
  MICRO_EVENTS,
)

const clock = createManualClock()
const nothing = { write: async () => {} }
const floodWriter = createAuditWriter({ repository: nothing, clock, logger })
const floodNs = perEventNs(() => floodWriter.record(entry('203.0.113.7')), MICRO_EVENTS)

const distinctWriter = createAuditWriter({ repository: nothing, clock, logger, maxPendingRows: DISTINCT_CHUNK + 1 })
let distinctTotalNs = 0
for (let done = 0; done < MICRO_EVENTS; done += DISTINCT_CHUNK) {
  const started = nowNs()
  for (let i = 0; i < DISTINCT_CHUNK; i++)
    distinctWriter.record(entry(`10.${(done + i) >> 16}.${((done + i) >> 8) & 255}.${(done + i) & 255}`))
  distinctTotalNs += nsSince(started)
  await distinctWriter.flush() // outside the timing: the write is part 2
}
const distinctNs = distinctTotalNs / MICRO_EVENTS

// ---------------------------------------------------------------- 2. one batch write to SQLite

const dataDir = mkdtempSync(join(tmpdir(), 'lectern-bench-audit-'))
async function sqliteFile(name: string): Promise<DatabaseHandle> {
  const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(join(dataDir, name)) })
  await migrateToLatest(database.db)
  return database
}

const writeDb = await sqliteFile('writes')
const repository = createAuditRepository(writeDb.db)
const newWrites: number[] = []
const upserts: number[] = []
for (let repeat = 0; repeat < WRITE_REPEATS; repeat++) {
  const minute = Date.UTC(2026, 0, 1) + repeat * 60_000
  const rows: NewAuditRow[] = Array.from({ length: WRITE_ROWS }, (_, i) => ({
    timestamp: minute + i,
    minute,
    event: 'auth_failure',
    user_id: null,
    remote_addr: `10.0.${i >> 8}.${i & 255}`,
    request_id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
    count: 1,
    extra: JSON.stringify(EXTRA),
    occurrence: COALESCED,
  }))
  let started = nowNs()
  await repository.write(rows)
  newWrites.push(nsSince(started) / 1e6)
  started = nowNs()
  await repository.write(rows)
  upserts.push(nsSince(started) / 1e6)
}
await writeDb.close()

// ---------------------------------------------------------------- 3. requests, paired

async function appWith(name: string, audit: AppDeps['audit']) {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'warning', TRUST_PROXY: 'true' })
  const database = await sqliteFile(name)
  const quiet = createLogger({ level: 'warning', sink: discard, clock: systemClock })
  const app = await buildApp({
    config,
    database,
    logger: quiet,
    clock: systemClock,
    sessionSecret: 'b'.repeat(48),
    audit,
  })
  await app.ready()
  return { app, database }
}

const withTrail = await appWith('trail', undefined)
const withoutTrail = await appWith('no-trail', { maxPendingRows: 0 })
let address = 0
async function batchUs(target: typeof withTrail): Promise<number> {
  const started = nowNs()
  for (let i = 0; i < BATCH; i++) {
    address++
    const res = await target.app.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { 'x-forwarded-for': `10.${address >> 16}.${(address >> 8) & 255}.${address & 255}` },
    })
    if (res.statusCode !== 403) throw new Error(`expected 403, got ${res.statusCode}`)
  }
  return nsSince(started) / 1000 / BATCH
}
await batchUs(withoutTrail) // warm-up
await batchUs(withTrail)
const off: number[] = []
const on: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? [withoutTrail, withTrail] : [withTrail, withoutTrail]
  for (const target of order) (target === withTrail ? on : off).push(await batchUs(target))
}
await withTrail.app.audit.writer.flush()
const kept = await withTrail.database.db
  .selectFrom('audit_events')
  .select((eb) => eb.fn.sum<number>('count').as('events'))
  .executeTakeFirstOrThrow()
for (const target of [withTrail, withoutTrail]) {
  await target.app.close()
  await target.database.close()
}
rmSync(dataDir, { recursive: true, force: true })

// ---------------------------------------------------------------- report

const f = (value: number, digits = 1) => value.toFixed(digits)
console.log(
  `bench/audit — Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => f(l, 2))
    .join(' ')}`,
)
console.log('')
console.log(`1. Per security event, in process (${MICRO_EVENTS.toLocaleString('en')} events each)`)
console.log('| what | ns per event | against the log line |')
console.log('|---|---:|---:|')
console.log(`| the event's log line (baseline) | ${f(logLineNs)} | 1.00× |`)
console.log(`| record(), a flood (one row, count + 1) | ${f(floodNs)} | ${f(floodNs / logLineNs, 2)}× |`)
console.log(
  `| record(), a new row each time (redacted, serialised) | ${f(distinctNs)} | ${f(distinctNs / logLineNs, 2)}× |`,
)
console.log('')
console.log(`2. One write of ${WRITE_ROWS} rows to a SQLite file (median of ${WRITE_REPEATS})`)
console.log('| write | ms per batch | µs per row |')
console.log('|---|---:|---:|')
console.log(`| new rows | ${f(median(newWrites), 2)} | ${f((median(newWrites) * 1000) / WRITE_ROWS, 2)} |`)
console.log(
  `| the same keys again (counts added) | ${f(median(upserts), 2)} | ${f((median(upserts) * 1000) / WRITE_ROWS, 2)} |`,
)
console.log('')
console.log(`3. A request logging a security event, each from a new address (${ROUNDS} rounds of ${BATCH}, alternated)`)
console.log('| app | µs per request |')
console.log('|---|---:|')
console.log(`| writer keeping nothing (baseline) | ${f(median(off))} |`)
console.log(`| the audit trail, written to SQLite | ${f(median(on))} |`)
const overhead = median(on.map((value, i) => value - off[i]!))
console.log(
  `| overhead (median of per-round differences) | ${f(overhead)} µs (${f((overhead / median(off)) * 100)} %) |`,
)
console.log('')
console.log(
  `events the trail kept: ${Number(kept.events).toLocaleString('en')} of ${((ROUNDS + 1) * BATCH).toLocaleString('en')} sent to it`,
)
