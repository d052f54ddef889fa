import { parentPort, workerData } from 'node:worker_threads'
import { createStats, type StatsConfig } from '../stats-config.ts'
import { TimelineTooLongError } from '../timeline.ts'
import { RangeScanner } from './range-scan.ts'
import type { ToWorker, FromWorker } from './messages.ts'

/**
 * A worker thread of the parallel scan (parallel/index.ts): for each file it is sent, it
 * claims and scans ranges until none is left, into its own LogStats; asked to finish, it sends
 * that LogStats' state (the latency samples transferred, not copied) and is done.
 */
const { config, claims, progress } = workerData as { config: StatsConfig; claims: Int32Array; progress: BigInt64Array }
const { stats } = createStats(config)
const scanner = new RangeScanner(stats)
const port = parentPort!

port.on('message', (message: ToWorker) => {
  if (message.type === 'scan') {
    let reply: FromWorker
    try {
      scanner.scanClaimed(message.fd, message.boundaries, claims, progress)
      reply = { type: 'scanned' }
    } catch (error) {
      reply = {
        type: 'failed',
        timeline: error instanceof TimelineTooLongError,
        code: (error as NodeJS.ErrnoException).code ?? null,
        message: error instanceof Error ? error.message : String(error),
      }
    }
    port.postMessage(reply)
    return
  }
  const state = stats.toState()
  const samples = state.latency.samples
  port.postMessage(
    { type: 'state', state } satisfies FromWorker,
    samples === null ? [] : [samples.buffer as ArrayBuffer],
  )
  port.close()
})
