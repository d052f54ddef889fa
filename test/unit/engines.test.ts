import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import semver from 'semver'

const root = new URL('../../', import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>
}

test('every package the install takes runs on the oldest Node.js Lectern supports: no EBADENGINE warning', () => {
  const oldest = semver.minVersion(manifest.engines.node)
  assert.ok(oldest, manifest.engines.node)
  const refused = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.optional !== true)
    .flatMap(([path, entry]) => {
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node
      return wanted !== undefined && !semver.satisfies(oldest, wanted) ? [`${path} wants node ${wanted}`] : []
    })
  assert.deepEqual(refused, [], `Node ${oldest.version} (engines.node ${manifest.engines.node})`)
})
