#!/usr/bin/env node
// Runs every test file under test/ with Node's own test runner, TypeScript loaded by tsx.
// Node 20's `--test` does not expand globs, so the file list is gathered here.
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

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env },
)
process.exit(result.status ?? 1)
