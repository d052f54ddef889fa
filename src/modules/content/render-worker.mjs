// The render worker's entry point (render-pool.ts). Plain JavaScript, so a worker can start it
// whatever loaded the parent; it brings in tsx for the TypeScript it runs (docs/adr/0005).
import { register } from 'tsx/esm/api'

register()
await import('./render-worker.ts')
