import { describeArgsProblem, parseCommandLine } from './args.ts'
import { EnvFileError, withEnvFile } from './env-file.ts'
import { EXIT_USAGE, type CliIo, type Command, type CommandResult } from './io.ts'

/** A command as the dispatcher knows it: its module (and everything it imports) loads only when run. */
interface CommandEntry {
  name: string
  summary: string
  /** Reads the server's configuration (CONTRACT §2), so a `.env` in the working directory applies. */
  readsServerEnv: boolean
  run: Command['run']
}

// Loaded on demand: the server never pays for the analyzer's modules, nor the analyzer for the server's.
const COMMANDS: CommandEntry[] = [
  {
    name: 'serve',
    readsServerEnv: true,
    summary: 'run the web server',
    run: async (argv, io) => (await import('./serve.ts')).serveCommand.run(argv, io),
  },
  {
    name: 'create-admin',
    readsServerEnv: true,
    summary: 'create an admin account (password on standard input), or promote an existing user',
    run: async (argv, io) => (await import('./create-admin.ts')).createAdminCommand.run(argv, io),
  },
  {
    name: 'reset-password',
    readsServerEnv: true,
    summary: 'print a one-time password-reset link for an account, or set its password',
    run: async (argv, io) => (await import('./reset-password.ts')).resetPasswordCommand.run(argv, io),
  },
  {
    name: 'reset-2fa',
    readsServerEnv: true,
    summary: "remove an account's second factors (TOTP, recovery codes, passkeys) and end its sessions",
    run: async (argv, io) => (await import('./reset-2fa.ts')).reset2faCommand.run(argv, io),
  },
  {
    name: 'import-users',
    readsServerEnv: true,
    summary: 'create the accounts of a CSV file, each emailed a link to set its password',
    run: async (argv, io) => (await import('./import-users.ts')).importUsersCommand.run(argv, io),
  },
  {
    name: 'import',
    readsServerEnv: true,
    summary: 'import a course or an ebook from a folder of Markdown files',
    run: async (argv, io) => (await import('./import.ts')).importCommand.run(argv, io),
  },
  {
    name: 'analyze-logs',
    readsServerEnv: false,
    summary: 'error rates, latency percentiles, top errors and alerts from JSON logs',
    run: async (argv, io) => (await import('./analyze-logs/index.ts')).analyzeLogsCommand(argv, io),
  },
  {
    name: 'rate-limits',
    readsServerEnv: true,
    summary: 'list and clear current rate-limit blocks',
    run: async (argv, io) => (await import('./rate-limits.ts')).rateLimitsCommand.run(argv, io),
  },
  {
    name: 'doctor',
    readsServerEnv: true,
    summary: 'check the installation the server would run with and say what to fix',
    run: async (argv, io) => (await import('./doctor.ts')).doctorCommand.run(argv, io),
  },
  {
    name: 'backup',
    readsServerEnv: true,
    summary: 'write a consistent backup of the database and DATA_DIR to a .tar.gz file',
    run: async (argv, io) => (await import('./backup.ts')).backupCommand.run(argv, io),
  },
  {
    name: 'restore',
    readsServerEnv: true,
    summary: 'restore a backup into an empty DATA_DIR (and an empty PostgreSQL database)',
    run: async (argv, io) => (await import('./restore.ts')).restoreCommand.run(argv, io),
  },
]

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  return `Lectern: a self-hosted learning platform.

Usage: lectern <command> [options]

Commands:
${lines.join('\n')}

Run "lectern <command> --help" for a command's options.
Exit status: 0 ok, 1 the command ran and found a problem, 2 usage or input error.
`
}

/** argv (after the program name) → a command's result. */
export async function main(argv: string[], io: CliIo): Promise<CommandResult> {
  // lectern's own options (only --help) come before the command; the rest is the command's.
  const commandAt = argv.findIndex((arg) => !arg.startsWith('-'))
  const own = parseCommandLine(commandAt === -1 ? argv : argv.slice(0, commandAt), {}, { allowPositionals: false })
  const name = commandAt === -1 ? undefined : argv[commandAt]!
  if (own.help || name === 'help') {
    io.stdout.write(usage())
    return 0
  }
  if (!own.ok) {
    io.stderr.write(`lectern: ${describeArgsProblem(own.problem)}\n\n${usage()}`)
    return EXIT_USAGE
  }
  if (name === undefined) {
    io.stdout.write(usage())
    return EXIT_USAGE
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    io.stderr.write(`lectern: unknown command "${name}"\n\n${usage()}`)
    return EXIT_USAGE
  }
  let commandIo = io
  if (command.readsServerEnv && io.cwd !== undefined) {
    try {
      commandIo = { ...io, env: withEnvFile(io.env, io.cwd) }
    } catch (error) {
      if (!(error instanceof EnvFileError)) throw error
      io.stderr.write(`lectern: ${error.message}\n`)
      return EXIT_USAGE
    }
  }
  return command.run(argv.slice(commandAt + 1), commandIo)
}
