/**
 * CONTRACT §16, `bin/lectern doctor [--json]`: one line per finding, or the JSON report; exit 0
 * without a FAIL, 1 with one, 2 on a usage error; an invalid configuration is a finding, not a
 * crash; no secret is ever printed.
 */
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Readable, Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { createDoctorCommand } from '../../src/cli/doctor.ts'
import type { CliIo } from '../../src/cli/io.ts'
import { migrateToLatest, openDatabase, sqlitePathFor } from '../../src/db/database.ts'
import { createAccountsRepository } from '../../src/modules/accounts/accounts.repository.ts'
import { setRole } from '../support/factories.ts'
import { runLectern } from '../support/process.ts'
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts'

const LINE = /^(OK|WARN|FAIL) [a-z0-9-]+: .+$/
const SECRETS = {
  session: 'session-secret-of-this-test-0123456789-abcdefghij',
  metrics: 'metrics-token-of-this-test-0123456789',
  smtp: 'smtp-password-of-this-test',
  redis: 'redis-password-of-this-test',
}

interface Run {
  code: number | 'running'
  stdout: string
  stderr: string
}

/** The command in-process; `tty` makes standard output a terminal. */
async function doctor(
  argv: string[],
  env: Record<string, string>,
  opts: { tty?: boolean; admins?: () => Promise<string[]> } = {},
): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stdout += chunk.toString()
      done()
    },
  })
  if (opts.tty) Object.assign(out, { isTTY: true })
  const io: CliIo = {
    stdin: Readable.from([]),
    stdout: out,
    stderr: new Writable({
      write(chunk: Buffer, _encoding, done) {
        stderr += chunk.toString()
        done()
      },
    }),
    env,
    now: () => new Date(),
    stderrIsTTY: false,
    stdinIsTTY: false,
  }
  const command = createDoctorCommand(opts.admins ? { adminsWithoutSecondFactor: opts.admins } : {})
  const code = await command.run(argv, io)
  return { code, stdout, stderr }
}

const findingsOf = (run: Run) =>
  (JSON.parse(run.stdout) as { findings: Array<{ check: string; level: string; message: string; fix: string | null }> })
    .findings

describe('lectern doctor (CONTRACT §16)', () => {
  let root: string
  let dataDir: string
  let backupDir: string
  let smtp: TestSmtpServer
  let healthy: Record<string, string>

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lectern-doctor-'))
    dataDir = join(root, 'data')
    backupDir = join(root, 'backups')
    mkdirSync(backupDir)
    writeFileSync(join(backupDir, 'lectern-today.tar.gz'), gzipSync('a backup'))
    const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(dataDir) })
    await migrateToLatest(database.db)
    const admin = await createAccountsRepository(database.db).insert({
      username: 'ada',
      email: 'ada@example.org',
      passwordHash: 'not-a-real-hash',
      nowMs: Date.now(),
    })
    await setRole(database.db, admin.id, 'admin')
    await database.close()
    smtp = await startTestSmtpServer({ credentials: { user: 'relay', pass: SECRETS.smtp } })
    healthy = {
      DATA_DIR: dataDir,
      SESSION_SECRET: SECRETS.session,
      METRICS_TOKEN: SECRETS.metrics,
      SMTP_URL: smtp.url({ user: 'relay', pass: SECRETS.smtp }),
      PUBLIC_URL: 'https://learn.example.org',
      TRUST_PROXY: 'loopback',
      BACKUP_DIR: backupDir,
    }
  })
  after(async () => {
    await smtp.stop()
    rmSync(root, { recursive: true, force: true })
  })

  test('a ready installation: exit 0, one "LEVEL check: what" line per finding and a summary, no colour off a terminal', async () => {
    const run = await doctor([], healthy, { admins: async () => [] })
    assert.equal(run.code, 0, run.stdout)
    const lines = run.stdout.trimEnd().split('\n')
    const summary = lines.pop()!
    assert.equal(lines.pop(), '')
    for (const line of lines) assert.match(line, LINE)
    assert.ok(
      lines.every((line) => line.startsWith('OK ')),
      run.stdout,
    )
    assert.match(summary, /^\d+ ok, 0 warning\(s\), 0 failure\(s\)$/)
    assert.doesNotMatch(run.stdout, /\u001b\[/)
    assert.match(run.stdout, /^OK smtp: the relay at 127\.0\.0\.1:\d+ answers EHLO$/m)
  })

  test('--json: {findings: [{check, level, message, fix}], summary: {ok, warn, fail}} that add up', async () => {
    const run = await doctor(['--json'], healthy, { admins: async () => ['ada'] })
    assert.equal(run.code, 0)
    const report = JSON.parse(run.stdout) as {
      findings: Array<Record<string, unknown>>
      summary: { ok: number; warn: number; fail: number }
    }
    assert.deepEqual(Object.keys(report), ['findings', 'summary'])
    assert.deepEqual(Object.keys(report.summary), ['ok', 'warn', 'fail'])
    for (const finding of report.findings) {
      assert.deepEqual(Object.keys(finding), ['check', 'level', 'message', 'fix'])
      assert.equal(finding.fix === null, finding.level === 'OK')
    }
    const count = (level: string) => report.findings.filter((finding) => finding.level === level).length
    assert.deepEqual(report.summary, { ok: count('OK'), warn: count('WARN'), fail: count('FAIL') })
    const twoFactor = report.findings.find((finding) => finding.check === 'admin-two-factor')!
    assert.equal(twoFactor.level, 'WARN', 'the injected function says ada has no second factor')
    assert.match(String(twoFactor.message), /ada/)
  })

  test('a database file readable by others: exit 1 and a FAIL line saying how to fix it', async () => {
    const file = join(dataDir, 'lectern.sqlite')
    chmodSync(file, 0o644)
    try {
      const run = await doctor([], healthy, { admins: async () => [] })
      assert.equal(run.code, 1)
      assert.match(
        run.stdout,
        /^FAIL database-file: the database file .* has mode 0644, others may read it — chmod 0600 /m,
      )
    } finally {
      chmodSync(file, 0o600)
    }
  })

  test('an invalid configuration is a FAIL finding naming the variable: printed, exit 1, no crash', async () => {
    const run = await doctor([], { ...healthy, RATE_LIMIT_LOGIN: 'often' })
    assert.equal(run.code, 1)
    assert.match(run.stdout, /^FAIL configuration: RATE_LIMIT_LOGIN: .+ — correct that variable/m)
    const json = await doctor(['--json'], { ...healthy, SESSION_SECRET: 'short' })
    assert.equal(json.code, 1)
    assert.deepEqual(
      findingsOf(json).map((finding) => [finding.check, finding.level]),
      [['configuration', 'FAIL']],
    )
    assert.match(findingsOf(json)[0]!.message, /^SESSION_SECRET: /)
    assert.doesNotMatch(json.stdout, /"short"/)
  })

  test('no admin: exit 1; the finding gives the command that creates one', async () => {
    const empty = join(root, 'empty')
    const database = openDatabase({ databaseUrl: null, sqlitePath: sqlitePathFor(empty) })
    await migrateToLatest(database.db)
    await database.close()
    const run = await doctor(['--json'], { ...healthy, DATA_DIR: empty })
    assert.equal(run.code, 1)
    const admins = findingsOf(run).find((finding) => finding.check === 'admins')!
    assert.equal(admins.level, 'FAIL')
    assert.match(admins.fix!, /bin\/lectern create-admin --username NAME/)
  })

  test('an unreachable Redis (a closed port): FAIL, exit 1, quickly', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const run = await doctor(
      ['--json'],
      { ...healthy, REDIS_URL: `redis://:${SECRETS.redis}@127.0.0.1:${port}` },
      {
        admins: async () => [],
      },
    )
    assert.equal(run.code, 1)
    const redis = findingsOf(run).find((finding) => finding.check === 'redis')!
    assert.equal(redis.level, 'FAIL')
    assert.doesNotMatch(run.stdout, new RegExp(SECRETS.redis))
  })

  test('never a secret: the session secret, metrics token, SMTP and Redis passwords appear nowhere in either output', async () => {
    const env = { ...healthy, REDIS_URL: `redis://:${SECRETS.redis}@127.0.0.1:1` }
    for (const argv of [[], ['--json']]) {
      const run = await doctor(argv, env, { admins: async () => ['ada'] })
      for (const secret of Object.values(SECRETS)) {
        assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `${secret} in ${argv.join(' ')} output`)
      }
    }
  })

  test('colours on a terminal only, and not with NO_COLOR', async () => {
    const coloured = await doctor([], healthy, { tty: true, admins: async () => [] })
    assert.match(coloured.stdout, /\u001b\[32mOK\u001b\[0m configuration:/)
    const plain = await doctor([], { ...healthy, NO_COLOR: '1' }, { tty: true, admins: async () => [] })
    assert.doesNotMatch(plain.stdout, /\u001b\[/)
    const json = await doctor(['--json'], healthy, { tty: true, admins: async () => [] })
    assert.doesNotMatch(json.stdout, /\u001b\[/)
  })

  test('usage errors: exit 2; --help: exit 0', async () => {
    assert.equal((await doctor(['--verbose'], healthy)).code, 2)
    assert.equal((await doctor(['extra'], healthy)).code, 2)
    assert.equal((await doctor(['--json=yes'], healthy)).code, 2)
    const help = await doctor(['--help'], healthy)
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: lectern doctor \[--json\]/)
  })

  test('bin/lectern doctor reads .env in the working directory like serve', async () => {
    const folder = join(root, 'with-env')
    mkdirSync(folder)
    writeFileSync(join(folder, '.env'), `DATA_DIR=${dataDir}\nPUBLIC_URL=https://from-env-file.example.org\n`)
    const run = await runLectern(['doctor', '--json'], { cwd: folder })
    const report = JSON.parse(run.stdout) as { findings: Array<{ check: string; message: string }> }
    const publicUrl = report.findings.find((finding) => finding.check === 'public-url')!
    assert.match(publicUrl.message, /from-env-file\.example\.org/)
    assert.ok(run.code === 0 || run.code === 1, run.stderr)
  })
})
