import { afterEach, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { LogFileTracker, type FollowTarget } from '../../../../src/cli/analyze-logs/follow/file-tracker.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lectern-follow-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A tracker whose lines are collected as strings; `take()` returns those read since the last call. */
function tracker(targets: FollowTarget[], windowMs = 5 * 60_000) {
  let lines: string[] = []
  const warnings: string[] = []
  const t = new LogFileTracker({
    targets,
    sink: {
      line: (buf, start, end) => lines.push(buf.toString('utf8', start, end)),
      overlongLine: () => lines.push('<overlong>'),
    },
    nowMs: () => Date.now(),
    windowMs,
    warn: (message) => warnings.push(message),
    stopped: () => false,
  })
  return {
    tracker: t,
    warnings,
    async poll() {
      await t.poll()
      const taken = lines
      lines = []
      return taken
    },
  }
}

const path = (name: string) => join(dir, name)
const append = (name: string, ...lines: string[]) => appendFileSync(path(name), lines.map((l) => `${l}\n`).join(''))

describe('LogFileTracker: growth', () => {
  test('reads what was added since the last round, and a line only once its newline is written', async () => {
    append('lectern.log', 'a1', 'a2')
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual(await t.poll(), ['a1', 'a2'])
    assert.deepEqual(await t.poll(), [])
    appendFileSync(path('lectern.log'), 'a3\na4-half')
    assert.deepEqual(await t.poll(), ['a3'])
    appendFileSync(path('lectern.log'), '-done\n')
    assert.deepEqual(await t.poll(), ['a4-half-done'])
    assert.equal(t.tracker.openFiles, 1)
    await t.tracker.close()
    assert.equal(t.tracker.openFiles, 0)
  })

  test('a new live file in the directory is read from its start; a directory may start empty', async () => {
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual(await t.poll(), [])
    append('other.jsonl', 'o1')
    writeFileSync(path('notes.txt'), 'not a log\n')
    assert.deepEqual(await t.poll(), ['o1'])
    await t.tracker.close()
  })

  test('a line over the length limit is handed on as overlong, and the next line is read whole', async () => {
    const t = tracker([{ kind: 'file', path: path('lectern.log') }])
    append('lectern.log', 'x')
    await t.poll()
    appendFileSync(path('lectern.log'), Buffer.alloc(1024 * 1024 + 10, 0x61))
    assert.deepEqual(await t.poll(), [])
    append('lectern.log', '', 'next')
    assert.deepEqual(await t.poll(), ['<overlong>', 'next'])
    await t.tracker.close()
  })
})

describe('LogFileTracker: rotation', () => {
  test('Lectern’s daily rotation (rename + new file): the renamed file is read to its end, never twice', async () => {
    append('lectern.log', 'day1-a')
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual(await t.poll(), ['day1-a'])
    renameSync(path('lectern.log'), path('lectern.2026-11-22.log'))
    append('lectern.2026-11-22.log', 'day1-late') // the old descriptor's last flush lands after the rename
    append('lectern.log', 'day2-a')
    assert.deepEqual((await t.poll()).sort(), ['day1-late', 'day2-a'])
    append('lectern.2026-11-22.log', 'day1-flushed-later')
    append('lectern.log', 'day2-b')
    assert.deepEqual((await t.poll()).sort(), ['day1-flushed-later', 'day2-b'])
    assert.equal(t.tracker.openFiles, 1, 'the rotated file is closed after its second read')
    append('lectern.log', 'day2-c')
    assert.deepEqual(await t.poll(), ['day2-c'])
    await t.tracker.close()
  })

  test('logrotate create (rename to .1) and then compress (.1 → .2.gz): nothing is read twice', async () => {
    append('app.log', 'a')
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual(await t.poll(), ['a'])
    renameSync(path('app.log'), path('app.log.1'))
    append('app.log', 'b')
    assert.deepEqual(await t.poll(), ['b'])
    await t.poll()
    writeFileSync(path('app.log.2.gz'), gzipSync('a\n'))
    rmSync(path('app.log.1'))
    renameSync(path('app.log'), path('app.log-20261123'))
    append('app.log', 'c')
    assert.deepEqual(await t.poll(), ['c'])
    assert.deepEqual(await t.poll(), [])
    await t.tracker.close()
  })

  test('copytruncate: the copy is not read, the truncated file is read again from its start', async () => {
    append('lectern.log', 'one', 'two')
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual(await t.poll(), ['one', 'two'])
    copyFileSync(path('lectern.log'), path('lectern.log.1'))
    truncateSync(path('lectern.log'), 0)
    assert.deepEqual(await t.poll(), [])
    append('lectern.log', 'three')
    assert.deepEqual(await t.poll(), ['three'])
    await t.tracker.close()
  })

  test('a file truncated and written past the old read position between two rounds is read from its start', async () => {
    append('lectern.log', 'first-line')
    const t = tracker([{ kind: 'file', path: path('lectern.log') }])
    assert.deepEqual(await t.poll(), ['first-line'])
    truncateSync(path('lectern.log'), 0)
    append('lectern.log', 'new-1', 'new-2', 'new-3') // longer than before: the size alone would hide it
    assert.deepEqual(await t.poll(), ['new-1', 'new-2', 'new-3'])
    await t.tracker.close()
  })

  test('a named file replaced under its name (rename + new, or delete + new) is followed to the new file', async () => {
    append('lectern.log', 'old')
    const t = tracker([{ kind: 'file', path: path('lectern.log') }])
    assert.deepEqual(await t.poll(), ['old'])
    renameSync(path('lectern.log'), path('elsewhere.log'))
    append('elsewhere.log', 'old-late')
    assert.deepEqual(await t.poll(), ['old-late'], 'gone from its name: still read to its end')
    append('lectern.log', 'new')
    assert.deepEqual(await t.poll(), ['new'])
    rmSync(path('lectern.log'))
    append('lectern.log', 'newer')
    assert.deepEqual(await t.poll(), ['newer'])
    await t.poll()
    assert.equal(t.tracker.openFiles, 1)
    await t.tracker.close()
  })
})

describe('LogFileTracker: start', () => {
  test('rotated files of the window are read once at start, gzip too; older files are not read', async () => {
    writeFileSync(path('lectern.2026-11-21.log.gz'), gzipSync('gz-old\n'))
    writeFileSync(path('lectern.2026-11-22.log.gz'), gzipSync('gz-recent\n'))
    append('lectern.2026-11-22.log', 'rotated-recent')
    append('lectern.log', 'live-old')
    const longAgo = new Date(Date.now() - 60 * 60_000)
    utimesSync(path('lectern.2026-11-21.log.gz'), longAgo, longAgo)
    utimesSync(path('lectern.log'), longAgo, longAgo)
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual((await t.poll()).sort(), ['gz-recent', 'rotated-recent'])
    assert.equal(t.tracker.openFiles, 1, 'only the live file stays open')
    append('lectern.log', 'live-new')
    assert.deepEqual(await t.poll(), ['live-new'], 'a live file not written in the window is followed from its end')
    truncateSync(path('lectern.log'), 0)
    append('lectern.log', 'after-truncation-that-is-longer-than-before')
    assert.deepEqual(await t.poll(), ['after-truncation-that-is-longer-than-before'])
    await t.tracker.close()
  })

  test('a named .gz file is read once, not followed as a growing file', async () => {
    writeFileSync(path('old.log.gz'), gzipSync('g1\ng2\n'))
    const t = tracker([{ kind: 'file', path: path('old.log.gz') }])
    assert.deepEqual(await t.poll(), ['g1', 'g2'])
    assert.equal(t.tracker.openFiles, 0)
    assert.deepEqual(await t.poll(), [])
    await t.tracker.close()
  })

  test('a corrupt .gz at start is reported once and the rest is followed', async () => {
    writeFileSync(path('lectern.2026-11-22.log.gz'), Buffer.concat([gzipSync('x\n').subarray(0, 12), Buffer.alloc(8)]))
    append('lectern.log', 'live')
    const t = tracker([{ kind: 'directory', path: dir }])
    assert.deepEqual(await t.poll(), ['live'])
    await t.poll()
    assert.equal(t.warnings.length, 1)
    assert.match(t.warnings[0] ?? '', /cannot read ".*lectern\.2026-11-22\.log\.gz"/)
    await t.tracker.close()
  })
})
