import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const STARTUP_TIMEOUT_MS = 30_000

export interface BenchServer {
  url: string
  dataDir: string
  pid: number
  stop(): Promise<void>
}

/**
 * Starts a server script as its own process (so the load generator and the server do not share
 * an event loop) and resolves with the URL it prints to stderr as "listening on URL". `cwd` is
 * this checkout unless given: another checkout's script runs from its own folder, so that
 * `--import tsx` and its imports resolve against that checkout's node_modules.
 */
export function startProcess(
  args: string[],
  env: Record<string, string | undefined> = {},
  { cwd = ROOT }: { cwd?: string } = {},
): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lectern-bench-'))
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start: ${stderr}`))
    }, STARTUP_TIMEOUT_MS)
    child.stderr!.on('data', (chunk) => {
      stderr += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (!match) return
      clearTimeout(timer)
      resolve({
        url: match[1]!,
        dataDir,
        pid: child.pid!,
        // The data directory goes with the process: a benchmark starts many.
        stop: () =>
          new Promise((done) => {
            child.once('close', () => {
              rmSync(dataDir, { recursive: true, force: true })
              done()
            })
            child.kill('SIGTERM')
          }),
      })
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}: ${stderr}`))
    })
  })
}

/** `bin/lectern serve` with the given environment. */
export const startLectern = (env: Record<string, string | undefined> = {}) =>
  startProcess([join(ROOT, 'bin/lectern'), 'serve'], env)
