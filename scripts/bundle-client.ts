// Bundles the browser modules (src/web/client/*.ts) into src/web/assets/app.js, which is committed
// and served as it is: the server needs no bundler (docs/adr/0014). Run `npm run build:client`
// after changing a client module; test/unit/client-bundle.test.ts fails while the file is stale.
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const CLIENT_ENTRY = fileURLToPath(new URL('../src/web/client/main.ts', import.meta.url))
export const CLIENT_BUNDLE = fileURLToPath(new URL('../src/web/assets/app.js', import.meta.url))

/** One ES module, minified, for browsers from 2020 on. */
export async function bundleClientScripts(entry = CLIENT_ENTRY): Promise<Buffer> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    minify: true,
    target: 'es2020',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
    banner: {
      js: '// Generated from src/web/client by scripts/bundle-client.ts: edit those, then npm run build:client.',
    },
  })
  const output = result.outputFiles[0]
  if (!output) throw new Error('esbuild produced no output for the client scripts')
  return Buffer.from(output.contents)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(CLIENT_BUNDLE, await bundleClientScripts())
  console.log(`wrote ${CLIENT_BUNDLE}`)
}
