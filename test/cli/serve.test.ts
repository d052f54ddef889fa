import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { logLineProblem } from '../support/log-schema.ts'
import { runLectern, startServer } from '../support/process.ts'

describe('bin/lectern', () => {
  test('--help lists the commands and exits 0', async () => {
    const { code, stdout } = await runLectern(['--help'])
    assert.equal(code, 0)
    assert.match(stdout, /Usage: lectern <command>/)
    assert.match(stdout, /serve/)
    assert.match(stdout, /analyze-logs/)
  })

  test('no command or an unknown one is a usage error (exit 2)', async () => {
    assert.equal((await runLectern([])).code, 2)
    const unknown = await runLectern(['frobnicate'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown command "frobnicate"/)
  })

  test('serve --help explains the command and its configuration', async () => {
    const { code, stdout } = await runLectern(['serve', '--help'])
    assert.equal(code, 0)
    assert.match(stdout, /Usage: lectern serve/)
    assert.match(stdout, /TRUST_PROXY/)
    assert.match(stdout, /AUDIT_RETENTION_DAYS/)
    assert.match(stdout, /REGISTRATION/)
  })

  for (const [variable, value] of [
    ['RATE_LIMIT_LOGIN', 'five'],
    ['PORT', '70000'],
    ['TRUST_PROXY', 'banana'],
    ['AUDIT_RETENTION_DAYS', '0'],
    ['REGISTRATION', 'sometimes'],
    ['SESSION_SECRET', 'short'],
  ] as const) {
    test(`serve refuses ${variable}=${value} with exit 2 and a message naming it`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lectern-cli-'))
      try {
        const { code, stderr } = await runLectern(['serve'], { env: { DATA_DIR: dataDir, [variable]: value } })
        assert.equal(code, 2)
        assert.match(stderr, new RegExp(`invalid configuration: ${variable}: `))
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
      }
    })
  }
})

describe('lectern serve, as a process', () => {
  test('serves, writes schema-valid JSON logs, keeps its secret 0600, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-serve-'))
    try {
      const server = await startServer({ DATA_DIR: dataDir, LOG_FILE: join(dataDir, 'logs', 'lectern.log') })
      const health = await fetch(`${server.url}/healthz`)
      assert.equal(health.status, 200)
      assert.deepEqual(await health.json(), { status: 'ok' })
      const ready = await fetch(`${server.url}/readyz`)
      assert.equal(ready.status, 200)
      assert.equal(await server.stop('SIGTERM'), 0)

      const lines = server.stdout().trim().split('\n')
      for (const line of lines) assert.equal(logLineProblem(line), null)
      const events = lines.map((line) => JSON.parse(line).event)
      for (const event of [
        'database_migrated',
        'server_started',
        'request_complete',
        'server_stopping',
        'server_stopped',
      ]) {
        assert.ok(events.includes(event), `${event} logged`)
      }
      assert.equal(statSync(join(dataDir, 'session-secret')).mode & 0o777, 0o600)
      assert.ok(statSync(join(dataDir, 'lectern.sqlite')).size > 0)
      assert.ok(statSync(join(dataDir, 'logs', 'lectern.log')).size > 0, 'LOG_FILE written')
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  test('first run: no admin yet, so start-up says how to create one (stderr and a no_admin WARNING), and / shows it; once an admin exists, neither', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lectern-first-run-'))
    const command = 'bin/lectern create-admin --username NAME --email ADDRESS --password-stdin'
    try {
      const fresh = await startServer({ DATA_DIR: dataDir })
      const page = await (await fetch(`${fresh.url}/`)).text()
      assert.equal(await fresh.stop('SIGTERM'), 0)
      assert.ok(fresh.stderr().includes(command), fresh.stderr())
      const warning = fresh
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .find((line) => line.event === 'no_admin')
      assert.equal(warning?.level, 'WARNING')
      assert.equal(warning?.extra?.command, command)
      assert.match(page, /No admin account yet/)
      assert.ok(page.includes(command))

      const created = await runLectern(
        ['create-admin', '--username', 'root', '--email', 'root@example.org', '--password-stdin'],
        { env: { DATA_DIR: dataDir }, input: 'a long and memorable passphrase\n' },
      )
      assert.equal(created.code, 0, created.stderr)
      const later = await startServer({ DATA_DIR: dataDir })
      const pageLater = await (await fetch(`${later.url}/`)).text()
      assert.equal(await later.stop('SIGTERM'), 0)
      assert.ok(!later.stderr().includes(command))
      assert.ok(!later.stdout().includes('"no_admin"'))
      assert.doesNotMatch(pageLater, /No admin account yet/)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
