import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { CLIENT_BUNDLE, bundleClientScripts } from '../../scripts/bundle-client.ts'

test('the committed script bundle is what bundling src/web/client gives now (run npm run build:client)', async () => {
  const committed = await readFile(CLIENT_BUNDLE)
  const fresh = await bundleClientScripts()
  assert.ok(committed.equals(fresh), `${CLIENT_BUNDLE} is stale: run npm run build:client`)
})
