import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { analyzeLogsCommand } from '../../../src/cli/analyze-logs/index.ts'
import { niceCeiling, renderChart } from '../../../src/cli/analyze-logs/html/svg-chart.ts'
import { escapeHtml } from '../../../src/cli/analyze-logs/html/escape.ts'
import { eventLine, logText, requestCompleteLine } from '../../support/log-lines.ts'
import { wellFormednessProblems } from '../../support/well-formed.ts'

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-html-report-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(argv: string[], stdin = '') {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString())
        done()
      },
    })
  const code = await analyzeLogsCommand(argv, {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
    now: () => new Date('2026-11-23T12:00:00.000Z'),
    stderrIsTTY: false,
  })
  return { code, stdout, stderr }
}

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, second)).toISOString()

/** 40 requests over 40 s taking 1..40 ms; 404s every 10th, a 500 at 25 s; 3 security events. */
function sampleLog(): string {
  const lines: string[] = []
  for (let i = 1; i <= 40; i++) {
    const status = i === 25 ? 500 : i % 10 === 0 ? 404 : 200
    lines.push(
      requestCompleteLine({ at: at(i), status, durationMs: i, path: status === 404 ? '/missing' : '/api/courses' }),
    )
  }
  lines.push(eventLine('auth_failure', at(5)), eventLine('auth_failure', at(6)), eventLine('csrf_violation', at(33)))
  return logText(lines)
}

/** Every <svg>…</svg> of the page. */
const svgParts = (html: string) => [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0])

describe('analyze-logs --html: the report page', () => {
  test('a well-formed page with the figures, the four charts, the tables and the alerts', async () => {
    const file = join(dir, 'report.html')
    const { code, stdout } = await run(['--html', file, '--bucket', '10s', '--p95-threshold-ms', '30'], sampleLog())
    assert.equal(code, 1) // error rate 12.5 % and p95 38 ms are both above their thresholds
    assert.match(stdout, /^Window/) // the readable report is printed as ever
    const html = await readFile(file, 'utf8')
    assert.deepEqual(wellFormednessProblems(html), [])
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/)
    const svgs = svgParts(html)
    assert.equal(svgs.length, 4)
    for (const svg of svgs) assert.deepEqual(wellFormednessProblems(svg), [])
    for (const id of ['chart-requests', 'chart-latency', 'chart-security', 'chart-distribution']) {
      assert.match(html, new RegExp(`<figure id="${id}"><svg class="chart"`), id)
    }
    const figure = (label: string) => new RegExp(`<dt>${label}</dt><dd>([^<]*)`).exec(html)?.[1]
    assert.equal(figure('Requests'), '40')
    assert.match(html, /<dt>Errors<\/dt><dd>5 <small>12\.50 %<\/small>/)
    assert.match(html, /<dt>Server errors<\/dt><dd>1 <small>2\.50 %<\/small>/)
    assert.equal(figure('Latency p50'), '20.0 ms')
    assert.equal(figure('Latency p95'), '38.0 ms')
    assert.equal(figure('Latency p99'), '40.0 ms')
    assert.match(html, /ALERT error rate 12\.50 % is above the threshold of 1\.00 %/)
    assert.match(html, /ALERT p95 latency 38\.0 ms is above the threshold of 30\.0 ms/)
    assert.match(html, /<td class="n">4<\/td><td class="text">\/missing<\/td><td class="text">Error 404<\/td>/)
    assert.match(html, /<td>auth_failure<\/td><td class="n">2<\/td>/)
    // The timeline of --bucket 10s: 10:00:00 to 10:00:40, five buckets (the last holds 40 s alone).
    assert.match(html, /5 buckets of 10s/)
    assert.equal((html.match(/<tr><td>2026-11-23T10:00:/g) ?? []).length, 5)
    // The requests chart: one bar a bucket of requests.
    const requestBars = /<g class="bars s-requests">(.*?)<\/g>/.exec(html)?.[1] ?? ''
    assert.equal((requestBars.match(/<rect /g) ?? []).length, 5)
  })

  test('self-contained: no script, no event handler, no link, no external resource of any kind', async () => {
    const file = join(dir, 'contained.html')
    await run(['--html', file], sampleLog())
    const html = await readFile(file, 'utf8')
    assert.doesNotMatch(html, /<script/i)
    assert.doesNotMatch(html, /https?:\/\//i)
    assert.doesNotMatch(html, /\s(?:href|src|srcset|xlink:href|action|formaction|poster|data)=/i)
    assert.doesNotMatch(html, /\son[a-z]+=/i)
    assert.doesNotMatch(html, /url\(|@import|@font-face|<link|<img|<iframe|<object|<embed/i)
    assert.match(html, /@media \(prefers-color-scheme: dark\)/)
    assert.match(html, /@media print/)
  })

  test('text from the logs is escaped everywhere: a path or message that is markup stays text', async () => {
    const evil = '/x"><script>alert(1)</script><img src=x onerror=alert(2)>'
    const message = `</title><style>body{display:none}</style> & https://attacker.example/'`
    const log = logText([requestCompleteLine({ at: at(1), status: 404, path: evil, message })])
    const file = join(dir, 'escaped.html')
    await run(['--html', file], log)
    const html = await readFile(file, 'utf8')
    assert.deepEqual(wellFormednessProblems(html), [])
    assert.doesNotMatch(html, /<script|<img|<\/title><style>/)
    assert.ok(html.includes(escapeHtml(evil)))
    assert.ok(html.includes(escapeHtml(message)))
    // The address is shown as text in a table cell, never as a reference the browser would load.
    assert.equal((html.match(/https:\/\//g) ?? []).length, 1)
    assert.match(
      html,
      /<td class="text">&lt;\/title&gt;&lt;style&gt;body\{display:none\}&lt;\/style&gt; &amp; https:\/\/attacker\.example\/&#39;<\/td>/,
    )
  })

  test('without --bucket the page chooses one; --json then stays exactly the §8 object', async () => {
    const file = join(dir, 'auto.html')
    const { stdout } = await run(['--json', '--html', file], sampleLog())
    assert.equal('timeline' in JSON.parse(stdout), false)
    const html = await readFile(file, 'utf8')
    // 40 seconds of lines: 1 s buckets, the shortest automatic length, make 40.
    assert.match(html, /40 buckets of 1s/)
    const hours = logText([requestCompleteLine({ at: at(0) }), requestCompleteLine({ at: '2026-11-23T13:59:00.000Z' })])
    await run(['--html', file], hours)
    assert.match(await readFile(file, 'utf8'), /<summary>48 buckets of 5m<\/summary>/)
  })

  test('written owner-only (0600) and atomically: no temporary file left, an older report replaced whole', async () => {
    const folder = join(dir, 'atomic')
    await mkdir(folder)
    const file = join(folder, 'report.html')
    await writeFile(file, 'the previous report', { mode: 0o644 })
    const { code } = await run(['--html', file], sampleLog())
    assert.equal(code, 1)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.deepEqual(await readdir(folder), ['report.html'])
    assert.match(await readFile(file, 'utf8'), /^<!DOCTYPE html>/)
  })

  test('a report that cannot be written is exit 2, said before any log is read, with nothing printed', async () => {
    const missingFolder = await run(['--html', join(dir, 'no-such-folder', 'r.html'), join(dir, 'no-such.log')])
    assert.equal(missingFolder.code, 2)
    assert.equal(missingFolder.stdout, '')
    // The report's path is checked first: the missing log is not what is reported.
    assert.match(missingFolder.stderr, /cannot write ".*r\.html": no such file or directory/)
    const folder = await run(['--html', dir], sampleLog())
    assert.equal(folder.code, 2)
    assert.match(folder.stderr, /cannot write ".*": it is a directory/)
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked')
      await mkdir(locked)
      await chmod(locked, 0o500)
      const denied = await run(['--html', join(locked, 'r.html')], sampleLog())
      assert.equal(denied.code, 2)
      assert.match(denied.stderr, /permission denied/)
    }
    for (const bad of ['', '-']) {
      const usage = await run(['--html', bad])
      assert.equal(usage.code, 2)
      assert.match(usage.stderr, /--html needs the path of the file to write/)
    }
  })

  test('no request at all: the page still renders, with empty charts that say so', async () => {
    const file = join(dir, 'empty.html')
    await run(['--html', file, '--since', at(0), '--until', at(30)], '')
    const html = await readFile(file, 'utf8')
    assert.deepEqual(wellFormednessProblems(html), [])
    assert.equal(svgParts(html).length, 4)
    assert.match(html, /<dt>Latency p95<\/dt><dd>—/)
    assert.match(html, /no data/) // the distribution has no request to show
  })
})

describe('the well-formedness check the tests rely on', () => {
  test('finds what breaks markup', () => {
    assert.deepEqual(wellFormednessProblems('<p><b>x</b></p><meta charset="utf-8" />'), [])
    for (const broken of [
      '<p><b>x</p></b>',
      '<p>a & b</p>',
      '<p>a < b</p>',
      '<p class=x>y</p>',
      '<p a="1" a="2"></p>',
      '<p>',
      '<meta charset="utf-8">',
    ])
      assert.notDeepEqual(wellFormednessProblems(broken), [], broken)
  })
})

describe('the SVG chart renderer', () => {
  test('round axis tops', () => {
    assert.deepEqual([0, 0.3, 1, 3, 7, 9.5, 38, 101, 2600].map(niceCeiling), [0, 0.4, 1, 4, 8, 10, 40, 200, 4000])
  })

  test('labels and names are escaped; a gap in a line starts a new segment', () => {
    const svg = renderChart({
      title: 'a <b> & "c"',
      slotLabels: ['<1>', '2', '3', '4'],
      formatY: (v) => `${v}<`,
      kind: 'lines',
      series: [{ name: 'p<95>', className: 's-p95', values: [1, 2, null, 4] }],
    })
    assert.deepEqual(wellFormednessProblems(svg), [])
    assert.match(svg, /<title>a &lt;b&gt; &amp; &quot;c&quot;<\/title>/)
    assert.match(svg, />&lt;1&gt;</)
    assert.equal([...(/ d="([^"]*)"/.exec(svg)?.[1] ?? '').matchAll(/M/g)].length, 2)
  })
})
