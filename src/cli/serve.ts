import { ConfigError, loadConfig } from '../config/index.ts'
import { serve } from '../main.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { EXIT_USAGE, type Command } from './io.ts'

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the web server',
  usage: `Usage: lectern serve

Serves Lectern over HTTP (default http://127.0.0.1:3000). Configuration comes from the
environment, and from a .env file in the working directory for what the environment does not set: PORT, HOST, DATA_DIR, DATABASE_URL, REDIS_URL, SESSION_SECRET, TRUST_PROXY,
COOKIE_SECURE, LOG_LEVEL, LOG_FILE, LOG_RETENTION_DAYS, CSRF_TOKEN_TTL, RATE_LIMIT_LOGIN,
RATE_LIMIT_LOGIN_USER, RATE_LIMIT_REGISTER, RATE_LIMIT_AVATAR, RATE_LIMIT_QUIZ, MAX_UPLOAD_BYTES,
MAX_IMAGE_WIDTH, MAX_IMAGE_HEIGHT, RATE_LIMIT_2FA, REQUIRE_2FA_FOR, AUDIT_RETENTION_DAYS, BACKUP_DIR, REGISTRATION,
SUPPORT_CONTACT (see README.md). An invalid value stops start-up with
exit status 2 and a message naming the variable. JSON log lines go to standard output
(and to LOG_FILE when set); SIGTERM or SIGINT stops the server gracefully.
`,
  async run(argv, io) {
    const args = parseCommandLine(argv, {}, { allowPositionals: false })
    if (args.help) {
      io.stdout.write(this.usage)
      return 0
    }
    if (!args.ok) {
      io.stderr.write(`lectern serve: ${describeArgsProblem(args.problem)}\n\n${this.usage}`)
      return EXIT_USAGE
    }
    try {
      await serve(loadConfig(io.env))
    } catch (error) {
      if (error instanceof ConfigError) {
        io.stderr.write(`lectern: invalid configuration: ${error.message}\n`)
        return EXIT_USAGE
      }
      throw error
    }
    return 'running'
  },
}
