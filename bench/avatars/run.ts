/**
 * Avatar upload figures through the whole app, in-process (app.inject): sessions, CSRF, rate
 * limit, multipart streaming, validation and re-encoding (src/images), the database write, the
 * log lines. Each figure is printed beside a baseline from the same run: the image processor
 * alone for the accept path, GET /healthz through the same app for the refusals, and a bare
 * Fastify route sending the same bytes for the avatar GET (inject's own cost of the body).
 *
 *   node --import tsx bench/avatars/run.ts
 *
 * The app runs on an in-memory SQLite database with LOG_LEVEL=info. Loops are bounded; the
 * whole run takes well under a minute.
 */
import { cpus } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import Fastify from 'fastify'
import sharp from 'sharp'
import { createImageProcessor } from '../../src/images/index.ts'
import { avatarImageLimits } from '../../src/modules/avatars/avatars.service.ts'
import { createAgent, multipartBody } from '../../test/support/agent.ts'
import { buildTestApp } from '../../test/support/app.ts'
import { makeJpeg, makePngHeaderClaiming } from '../../test/support/images.ts'

const ACCEPT_RUNS = 60
const REFUSE_RUNS = 300
const CONCURRENT_UPLOADS = 10
const MB = 1024 * 1024
const OVERSIZED_BYTES = 6 * MB // MAX_UPLOAD_BYTES is 5 MB by default

function percentile(sortedMs: number[], fraction: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1)]!
}

async function timeRuns(runs: number, task: () => Promise<unknown>): Promise<{ medianMs: number; p95Ms: number }> {
  for (let i = 0; i < Math.min(5, runs); i++) await task() // warm-up: first calls load codecs and compile schemas
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    await task()
    samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  samples.sort((a, b) => a - b)
  return { medianMs: percentile(samples, 0.5), p95Ms: percentile(samples, 0.95) }
}

const expectStatus = (status: number, run: () => Promise<{ statusCode: number; body: string }>) => async () => {
  const res = await run()
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body.slice(0, 200)}`)
}

const rows: string[][] = []
function report(what: string, figures: { medianMs: number; p95Ms: number }, baseline: string) {
  rows.push([what, figures.medianMs.toFixed(2), figures.p95Ms.toFixed(2), baseline])
}

console.log(
  `node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, ${cpus().length} CPU(s): ${cpus()[0]?.model ?? 'unknown'}`,
)

const t = await buildTestApp({
  env: { LOG_LEVEL: 'info', RATE_LIMIT_AVATAR: '1000000/1h', RATE_LIMIT_REGISTER: '1000/1h' },
})
const signIn = async (name: string) => {
  const agent = createAgent(t.app)
  const res = await agent.post('/api/register', {
    json: { username: name, email: `${name}@example.org`, password: 'correct horse battery staple' },
  })
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  const cookie = Object.entries(agent.cookies)
    .map(([key, value]) => `${key}=${value}`)
    .join('; ')
  return { cookie, 'x-csrftoken': await agent.csrfToken() }
}
const auth = await signIn('bench')

const jpeg = await makeJpeg(1024, 768, { noise: true })
const uploadBody = (data: Buffer) =>
  multipartBody([{ name: 'avatar', filename: 'me.jpg', contentType: 'image/jpeg', data }])
const post = (body: ReturnType<typeof uploadBody>, who = auth) =>
  t.app.inject({
    method: 'POST',
    url: '/api/upload-avatar',
    headers: { ...who, ...body.headers },
    payload: body.payload,
  })

// --- Accept path: the whole request, against the processor alone. ------------------------------------
const processor = createImageProcessor({ limits: avatarImageLimits({ maxImageWidth: 4096, maxImageHeight: 4096 }) })
const processorAlone = await timeRuns(ACCEPT_RUNS, () => processor.process(jpeg))
const jpegBody = uploadBody(jpeg)
report(
  `upload 1024×768 JPEG (${(jpeg.length / 1024).toFixed(0)} KB) → 200`,
  await timeRuns(
    ACCEPT_RUNS,
    expectStatus(200, () => post(jpegBody)),
  ),
  `processor.process() alone: median ${processorAlone.medianMs.toFixed(2)} ms, p95 ${processorAlone.p95Ms.toFixed(2)} ms`,
)

const avatarUrl = ((await post(jpegBody)).json() as { avatar_url: string }).avatar_url
const served = await t.app.inject({ method: 'GET', url: avatarUrl })
const healthz = await timeRuns(
  REFUSE_RUNS,
  expectStatus(200, () => t.app.inject({ method: 'GET', url: '/healthz' })),
)
const healthzBaseline = `GET /healthz: median ${healthz.medianMs.toFixed(2)} ms`
// inject's own cost of carrying a body of that size, measured on a bare Fastify route.
const bare = Fastify()
bare.get('/bytes', async (_req, reply) => reply.type('image/jpeg').send(served.rawPayload))
const bareBytes = await timeRuns(
  REFUSE_RUNS,
  expectStatus(200, () => bare.inject({ method: 'GET', url: '/bytes' })),
)
report(
  `GET avatar (${(served.rawPayload.length / 1024).toFixed(0)} KB JPEG) → 200`,
  await timeRuns(
    REFUSE_RUNS,
    expectStatus(200, () => t.app.inject({ method: 'GET', url: avatarUrl })),
  ),
  `bare Fastify route, same bytes: median ${bareBytes.medianMs.toFixed(2)} ms`,
)
report(
  'GET avatar with If-None-Match → 304',
  await timeRuns(
    REFUSE_RUNS,
    expectStatus(304, () =>
      t.app.inject({ method: 'GET', url: avatarUrl, headers: { 'if-none-match': String(served.headers.etag) } }),
    ),
  ),
  '',
)

// --- Refusals: 413 before the body (Content-Length) and while it streams (chunked), a header bomb. ----
const oversized = uploadBody(Buffer.alloc(OVERSIZED_BYTES, 0x5a))
report(
  `413 by Content-Length (${OVERSIZED_BYTES / MB} MB body, never read)`,
  await timeRuns(
    REFUSE_RUNS,
    expectStatus(413, () => post(oversized)),
  ),
  healthzBaseline,
)
let streamedBytes = 0
const chunk = Buffer.alloc(64 * 1024, 0x5a)
const chunked = () =>
  Readable.from(
    (function* () {
      yield oversized.payload.subarray(0, 200)
      for (let sent = 0; sent < OVERSIZED_BYTES; sent += chunk.length) {
        streamedBytes += chunk.length
        yield chunk
      }
    })(),
  )
streamedBytes = 0
const streamed = await timeRuns(REFUSE_RUNS, () =>
  expectStatus(413, () =>
    t.app.inject({
      method: 'POST',
      url: '/api/upload-avatar',
      headers: { ...auth, ...oversized.headers, 'transfer-encoding': 'chunked' },
      payload: chunked(),
    }),
  )(),
)
report(
  `413 while streaming (chunked, ${OVERSIZED_BYTES / MB} MB offered)`,
  streamed,
  `read about ${(streamedBytes / (REFUSE_RUNS + 5) / MB).toFixed(1)} MB of each body`,
)
report(
  'header claiming 100000×100000 → 400',
  await timeRuns(
    REFUSE_RUNS,
    expectStatus(400, () => post(uploadBody(makePngHeaderClaiming(100_000, 100_000)))),
  ),
  healthzBaseline,
)

// --- Ten uploads at once, each from its own user: wall time, memory, event-loop delay. -----------------
const users = await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, (_, i) => signIn(`burst${i}`)))
const loopDelay = monitorEventLoopDelay({ resolution: 1 })
const beforeRss = process.memoryUsage().rss
let peakRss = beforeRss
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 2)
loopDelay.enable()
const burstStart = process.hrtime.bigint()
const burst = await Promise.all(users.map((who) => post(jpegBody, who)))
const burstMs = Number(process.hrtime.bigint() - burstStart) / 1e6
loopDelay.disable()
clearInterval(sampler)
if (burst.some((res) => res.statusCode !== 200)) throw new Error('a concurrent upload failed')
const bareStart = process.hrtime.bigint()
await Promise.all(users.map(() => processor.process(jpeg)))
const bareBurstMs = Number(process.hrtime.bigint() - bareStart) / 1e6

await t.close()

// --- Report. ------------------------------------------------------------------------------------------
const widths = [48, 12, 10, 0]
const line = (cells: string[]) => cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join(' ')
console.log()
console.log(line(['path', 'median ms', 'p95 ms', 'baseline (same run)']))
for (const row of rows) console.log(line(row))
console.log()
console.log(
  `${CONCURRENT_UPLOADS} concurrent uploads through the app: ${burstMs.toFixed(0)} ms in all, ` +
    `+${((peakRss - beforeRss) / MB).toFixed(1)} MB peak RSS, event-loop delay max ${(loopDelay.max / 1e6).toFixed(1)} ms ` +
    `(p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms); baseline, the processor alone: ${bareBurstMs.toFixed(0)} ms`,
)
