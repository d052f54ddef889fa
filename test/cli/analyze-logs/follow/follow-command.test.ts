import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { BIN } from '../../../support/process.ts'
import { requestCompleteLine } from '../../../support/log-lines.ts'

const WAIT_STEP_MS = 25
const WAIT_LIMIT_MS = 15_000

test('bin/lectern analyze-logs --follow on a real directory: growth, rotation, truncation, ALERT, RESOLVED, SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-follow-e2e-'))
  const live = join(dir, 'lectern.log')
  const write = (path: string, count: number, status = 200) => {
    const line = `${requestCompleteLine({ at: new Date().toISOString(), status, durationMs: 3 })}\n`
    appendFileSync(path, line.repeat(count))
  }
  write(live, 3)
  const child = spawn(
    process.execPath,
    [BIN, 'analyze-logs', '--follow', '--json', '--interval', '0.2', '--last-minutes', '1'].concat([
      '--error-rate-threshold',
      '0.5',
      dir,
    ]),
    { env: { PATH: process.env.PATH ?? '' } },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  const reports = () =>
    stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { total_requests: number; error_requests: number })
  /** Waits, a bounded number of short steps, for a report made after this call that satisfies `ok`. */
  const waitForReport = async (
    what: string,
    ok: (r: { total_requests: number; error_requests: number }) => boolean,
  ) => {
    const seen = reports().length
    for (let waited = 0; waited < WAIT_LIMIT_MS; waited += WAIT_STEP_MS) {
      const fresh = reports().slice(seen)
      if (fresh.some(ok)) return
      await delay(WAIT_STEP_MS)
    }
    assert.fail(`no report with ${what} in ${WAIT_LIMIT_MS} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)
  }
  const waitForReports = async (count: number) => {
    const target = reports().length + count
    for (let waited = 0; waited < WAIT_LIMIT_MS && reports().length < target; waited += WAIT_STEP_MS) {
      await delay(WAIT_STEP_MS)
    }
    assert.ok(reports().length >= target, `fewer than ${count} more reports`)
  }
  try {
    await waitForReport('the 3 requests at start', (r) => r.total_requests === 3)
    write(live, 2)
    await waitForReport('5 requests after appending', (r) => r.total_requests === 5)

    // Lectern's daily rotation: rename, a late flush into the renamed file, a new live file.
    renameSync(live, join(dir, 'lectern.2026-12-06.log'))
    write(join(dir, 'lectern.2026-12-06.log'), 1)
    write(live, 1)
    await waitForReport('7 requests after the rotation', (r) => r.total_requests === 7)
    await waitForReports(3)
    assert.equal(reports().at(-1)?.total_requests, 7, 'the rotated file is not read twice')

    // logrotate's copytruncate, then 10 errors of 17 requests: the error-rate alert starts.
    copyFileSync(live, join(dir, 'lectern.log.1'))
    truncateSync(live, 0)
    write(live, 10, 503)
    await waitForReport('17 requests, 10 of them errors', (r) => r.total_requests === 17 && r.error_requests === 10)
    await waitForReports(1)
    assert.equal(stderr, 'ALERT error_rate 0.588235 > 0.5\n')

    write(live, 20)
    await waitForReport('37 requests', (r) => r.total_requests === 37)
    await waitForReports(2)
    assert.equal(stderr, 'ALERT error_rate 0.588235 > 0.5\nRESOLVED error_rate\n', 'each said once')
  } finally {
    child.kill('SIGTERM')
    const giveUp = new AbortController()
    const result = await Promise.race([exited, delay(WAIT_LIMIT_MS, null, { signal: giveUp.signal }).catch(() => null)])
    giveUp.abort()
    if (result === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    assert.deepEqual(result, { code: 0, signal: null }, `ends with exit 0 on SIGTERM; stderr:\n${stderr}`)
  }
})

test('SIGINT (Ctrl-C) ends --follow with exit 0 too, after the report already under way is written whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-follow-int-'))
  appendFileSync(join(dir, 'lectern.log'), `${requestCompleteLine({ at: new Date().toISOString() })}\n`)
  const child = spawn(process.execPath, [BIN, 'analyze-logs', '--follow', '--interval', '0.1', dir], {
    env: { PATH: process.env.PATH ?? '' },
  })
  let stdout = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  try {
    for (let waited = 0; waited < WAIT_LIMIT_MS && !stdout.includes('Alerts'); waited += WAIT_STEP_MS) {
      await delay(WAIT_STEP_MS)
    }
    assert.match(stdout, /^Window .*\nRequests +1\n/)
  } finally {
    child.kill('SIGINT')
    const giveUp = new AbortController()
    const result = await Promise.race([exited, delay(WAIT_LIMIT_MS, null, { signal: giveUp.signal }).catch(() => null)])
    giveUp.abort()
    if (result === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    assert.deepEqual(result, { code: 0, signal: null })
    // Every report printed is complete: it ends with its Alerts line.
    assert.match(stdout, /Alerts +none \(error rate ≤ 1\.00 %, p95 ≤ 1,000 ms\)\n$/)
  }
})

test('a reader that goes away (| head) ends --follow with exit 0, not an EPIPE crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-follow-pipe-'))
  const child = spawn(process.execPath, [BIN, 'analyze-logs', '--follow', '--interval', '0.1', dir], {
    env: { PATH: process.env.PATH ?? '' },
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  await new Promise((resolve) => child.stdout.once('data', resolve))
  child.stdout.destroy()
  const giveUp = new AbortController()
  const result = await Promise.race([exited, delay(WAIT_LIMIT_MS, null, { signal: giveUp.signal }).catch(() => null)])
  giveUp.abort()
  if (result === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  assert.deepEqual(result, { code: 0, signal: null }, stderr)
  assert.equal(stderr, '')
})
