import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/lectern', import.meta.url))

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs bin/lectern to completion (bounded by a timeout) with the given environment and input. */
export function runLectern(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '', ...opts.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`lectern ${args.join(' ')} did not finish in time\n${stderr}`))
    }, opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(opts.input ?? '')
  })
}

export interface RunningServer {
  child: ChildProcessWithoutNullStreams
  url: string
  stdout(): string
  stderr(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts `bin/lectern serve` on a free port and resolves once it says where it listens.
 * `umask` (e.g. 0o000): the file-creation mask the server starts with, set by a shell first.
 */
export function startServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
  opts: { umask?: number } = {},
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const options = { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env } }
    const child =
      opts.umask === undefined
        ? spawn(process.execPath, [BIN, 'serve'], options)
        : spawn(
            '/bin/sh',
            [
              '-c',
              `umask ${opts.umask.toString(8).padStart(3, '0')} && exec "$0" "$@"`,
              process.execPath,
              BIN,
              'serve',
            ],
            options,
          )
    let stdout = ''
    let stderr = ''
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start:\n${stderr}`))
    }, timeoutMs)
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => {
      stderr += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (match) {
        clearTimeout(timer)
        resolve({
          child,
          url: match[1]!,
          stdout: () => stdout,
          stderr: () => stderr,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal)
            return exited
          },
        })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${stderr}`))
    })
  })
}
