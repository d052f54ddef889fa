#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner; Node strips the types itself, as
// bin/lectern has it do (docs/adr/0014). The file list is gathered here: filters match substrings.
// Usage: node scripts/run-tests.mjs [path-filter ...]   (filters match substrings of paths)
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const filters = process.argv.slice(2)
const files = readdirSync(join(root, 'test'), { recursive: true })
  .map((entry) => join('test', String(entry)))
  .filter((path) => path.endsWith('.test.ts'))
  .filter((path) => filters.length === 0 || filters.some((f) => path.includes(f)))
  .sort()

if (files.length === 0) {
  console.error('No test files matched.')
  process.exit(2)
}

// Node 22.12–22.17 strip types only when asked; later lines do it unasked.
const stripTypes = process.features.typescript
  ? []
  : ['--experimental-strip-types', '--disable-warning=ExperimentalWarning']
const result = spawnSync(
  process.execPath,
  [...stripTypes, '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env },
)
process.exit(result.status ?? 1)
