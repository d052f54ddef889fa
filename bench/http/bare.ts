// Baselines for bench/http: the same `GET /healthz` answer from bare node:http and bare Fastify,
// and bare Fastify carrying one part of Lectern's cost at a time.
//   node | fastify           the bare servers
//   fastify-headers          plus Lectern's response headers (its security-headers plugin and X-Request-ID)
//   fastify-work=N           plus N µs of busy work per request, to see what a µs of server time
//                            costs under this load
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import Fastify from 'fastify'
import { securityHeaders } from '../../src/security/headers.ts'

const kind = process.argv[2] ?? ''
const body = JSON.stringify({ status: 'ok' })

function announce(url: string) {
  process.stderr.write(`listening on ${url}\n`)
}

if (kind === 'node') {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
    res.end(body)
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    if (address && typeof address === 'object') announce(`http://127.0.0.1:${address.port}`)
  })
  process.once('SIGTERM', () => server.close(() => process.exit(0)))
} else {
  const app = Fastify({ logger: false })
  if (kind === 'fastify-headers') {
    await app.register(securityHeaders)
    app.addHook('onRequest', (_req, reply, done) => {
      reply.header('x-request-id', randomUUID())
      done()
    })
  }
  const work = /^fastify-work=(\d+)$/.exec(kind)
  if (work) {
    const workNs = BigInt(Number(work[1]) * 1000)
    app.addHook('onRequest', (_req, _reply, done) => {
      const until = process.hrtime.bigint() + workNs
      while (process.hrtime.bigint() < until); // busy on purpose: stands for N µs of the stack's code
      done()
    })
  }
  app.get('/healthz', async () => ({ status: 'ok' }))
  announce(await app.listen({ port: 0, host: '127.0.0.1' }))
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
}
