import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/errors.ts'

/** What the pages load: one script bundle, one stylesheet, one icon. */
export type AssetName = 'app.js' | 'styles.css' | 'icon.svg'

export interface Asset {
  /** `/assets/styles.3f9a1c2b04d5e6f7.css`: the content hash makes the URL change when the bytes do. */
  url: string
  body: Buffer
  contentType: string
  /** Strong validator: the same bytes always carry the same tag. */
  etag: string
}

export interface Assets {
  url(name: AssetName): string
  /** The asset served at `/assets/<file>`, or undefined. */
  find(file: string): Asset | undefined
}

// Bundled from ./client by scripts/bundle-client.ts and committed: no bundler at run time.
const SCRIPT = fileURLToPath(new URL('./assets/app.js', import.meta.url))
const STYLESHEET = fileURLToPath(new URL('./assets/styles.css', import.meta.url))
const ICON = fileURLToPath(new URL('./assets/icon.svg', import.meta.url))

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
}

/** A year: the URL names the content, so a cached copy can never be stale. */
const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
const HASH_HEX_CHARS = 16

function hashed(name: AssetName, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, HASH_HEX_CHARS)
  const dot = name.lastIndexOf('.')
  const extension = name.slice(dot + 1)
  return {
    url: `/assets/${name.slice(0, dot)}.${hash}.${extension}`,
    body,
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    etag: `"${hash}"`,
  }
}

/** Reads the script bundle, the stylesheet and the icon, once, into memory. */
export async function createAssets(): Promise<Assets> {
  const [script, styles, icon] = await Promise.all([readFile(SCRIPT), readFile(STYLESHEET), readFile(ICON)])
  const byName = new Map<AssetName, Asset>([
    ['app.js', hashed('app.js', script)],
    ['styles.css', hashed('styles.css', styles)],
    ['icon.svg', hashed('icon.svg', icon)],
  ])
  const byFile = new Map([...byName.values()].map((asset) => [asset.url.slice('/assets/'.length), asset]))
  return {
    url: (name) => byName.get(name)!.url,
    find: (file) => byFile.get(file),
  }
}

/** True when an If-None-Match header lists this tag (or `*`). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((tag) => {
    const value = tag.trim()
    return value === '*' || value === etag || value === `W/${etag}`
  })
}

/**
 * `GET /assets/<name>.<hash>.<ext>` from memory, cacheable for a year. An old hash is a 404, not
 * the new content: a page that names it is itself stale and will be reloaded.
 */
export async function assetRoutes(app: FastifyInstance, opts: { assets: Assets }) {
  app.get<{ Params: { file: string } }>('/assets/:file', { config: { access: 'public' } }, async (req, reply) => {
    const asset = opts.assets.find(req.params.file)
    if (!asset) throw notFound()
    reply.header('Cache-Control', IMMUTABLE_CACHE_CONTROL).header('ETag', asset.etag)
    if (matches(req.headers['if-none-match'], asset.etag)) return reply.code(304).send()
    return reply.type(asset.contentType).send(asset.body)
  })
}
