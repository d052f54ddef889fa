// Baselines for bench/http: the same `GET /healthz` answer from bare node:http and bare Fastify.
import { createServer } from 'node:http'
import Fastify from 'fastify'

const kind = process.argv[2]
const body = JSON.stringify({ status: 'ok' })

if (kind === 'node') {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
    res.end(body)
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    if (address && typeof address === 'object') process.stderr.write(`listening on http://127.0.0.1:${address.port}\n`)
  })
  process.once('SIGTERM', () => server.close(() => process.exit(0)))
} else {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ status: 'ok' }))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  process.stderr.write(`listening on ${url}\n`)
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
}
