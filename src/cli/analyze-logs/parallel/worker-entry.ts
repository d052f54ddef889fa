import { enableCompileCache } from 'node:module'

// A worker thread is a Node instance of its own: without this it would strip and compile the
// analyzer's modules anew on every run (~50 ms of CPU), where the main thread reuses bin/lectern's
// compile cache. The dynamic import comes after, so the cache is on before they load.
enableCompileCache?.()
await import('./scan-worker.ts')
