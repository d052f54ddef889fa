/**
 * What Lectern leaves on disk is private whatever the umask: DATA_DIR 0700, the SQLite database
 * (password hashes) with its -wal/-shm and the session secret 0600, LOG_FILE and its rotated
 * files 0640; modes left wider by an earlier run are tightened at start-up, each with a warning.
 */
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { createManualClock } from '../../src/lib/clock.ts'
import { createRotatingFileSink } from '../../src/logging/file-sink.ts'
import { logLineProblem } from '../support/log-schema.ts'
import { startServer } from '../support/process.ts'

const modeOf = (path: string) => statSync(path).mode & 0o777

describe('file modes (DATA_DIR, database, secret, LOG_FILE)', () => {
  test('a fresh start under umask 000: DATA_DIR 0700, database, -wal, -shm and secret 0600, LOG_FILE 0640', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lectern-modes-'))
    const dataDir = join(root, 'data')
    const logFile = join(root, 'logs', 'lectern.log')
    try {
      const server = await startServer({ DATA_DIR: dataDir, LOG_FILE: logFile }, 60_000, { umask: 0o000 })
      try {
        assert.equal((await fetch(`${server.url}/readyz`)).status, 200)
        // While the server runs, SQLite's write-ahead log and shared memory exist beside the file.
        assert.equal(modeOf(dataDir), 0o700)
        for (const name of ['lectern.sqlite', 'lectern.sqlite-wal', 'lectern.sqlite-shm', 'session-secret']) {
          assert.equal(modeOf(join(dataDir, name)).toString(8), '600', name)
        }
        assert.equal(modeOf(logFile).toString(8), '640')
      } finally {
        assert.equal(await server.stop('SIGTERM'), 0)
      }
      const warnings = server
        .stdout()
        .trim()
        .split('\n')
        .filter((line) => line.includes('file_permissions_tightened'))
      assert.deepEqual(warnings, [], 'nothing to tighten on a fresh start')
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  test('a 0755 DATA_DIR, a 0644 database, secret and logs are tightened at start-up, each with a warning', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-modes-'))
    const logFile = join(dataDir, 'logs', 'lectern.log')
    const env = { DATA_DIR: dataDir, LOG_FILE: logFile }
    try {
      const first = await startServer(env)
      assert.equal(await first.stop('SIGTERM'), 0)
      // As an earlier version, a copy or an operator's chmod might leave them.
      const rotated = join(dataDir, 'logs', 'lectern.2020-01-01.log')
      writeFileSync(rotated, '')
      const loose: Array<[string, number, number]> = [
        [dataDir, 0o755, 0o700],
        [join(dataDir, 'lectern.sqlite'), 0o644, 0o600],
        [join(dataDir, 'session-secret'), 0o644, 0o600],
        [logFile, 0o666, 0o640],
        [rotated, 0o644, 0o640],
      ]
      for (const [path, mode] of loose) chmodSync(path, mode)

      const second = await startServer(env)
      try {
        for (const [path, , tightened] of loose) assert.equal(modeOf(path).toString(8), tightened.toString(8), path)
      } finally {
        assert.equal(await second.stop('SIGTERM'), 0)
      }
      const lines = second.stdout().trim().split('\n')
      for (const line of lines) assert.equal(logLineProblem(line), null)
      const warnings = lines.map((line) => JSON.parse(line)).filter((l) => l.event === 'file_permissions_tightened')
      assert.deepEqual(
        warnings.map((w) => [w.level, w.extra.path, w.extra.old_mode, w.extra.new_mode]).sort(),
        loose
          .map(([path, mode, tightened]) => ['WARNING', path, `0${mode.toString(8)}`, `0${tightened.toString(8)}`])
          .sort(),
      )
      const secret = readFileSync(join(dataDir, 'session-secret'), 'utf8').trim()
      assert.ok(!second.stdout().includes(secret), 'the secret never reaches a log line')
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  test('LOG_FILE and the files rotated from it are 0640 under umask 000', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lectern-modes-'))
    const previous = process.umask(0o000)
    try {
      const clock = createManualClock(Date.UTC(2026, 0, 1, 12))
      const path = join(dir, 'lectern.log')
      const sink = createRotatingFileSink({ path, retentionDays: 7, clock })
      sink.write(Buffer.from('{"a":1}\n'))
      clock.advance(24 * 3_600_000)
      sink.rotateIfDue()
      sink.write(Buffer.from('{"a":2}\n'))
      await sink.close()
      assert.equal(modeOf(path).toString(8), '640')
      assert.equal(modeOf(join(dir, 'lectern.2026-01-01.log')).toString(8), '640')
    } finally {
      process.umask(previous)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
