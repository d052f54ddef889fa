/** What a command may touch of the process: passed in, so tests run commands in-process. */
export interface CliIo {
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  env: Readonly<Record<string, string | undefined>>
  /** The working directory, where a `.env` is looked for; without it no `.env` is read. */
  cwd?: string
  now: () => Date
  stderrIsTTY: boolean
  stdinIsTTY: boolean
}

/** Exit statuses of CONTRACT §1. */
export const EXIT_OK = 0
export const EXIT_PROBLEM = 1
export const EXIT_USAGE = 2

/** A command's result: an exit status, or 'running' for a server that keeps the process alive. */
export type CommandResult = number | 'running'

export interface Command {
  name: string
  summary: string
  usage: string
  run(argv: string[], io: CliIo): Promise<CommandResult>
}
