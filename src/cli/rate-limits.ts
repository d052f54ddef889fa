import type { Redis } from 'ioredis'
import { ConfigError, loadConfig, type Config } from '../config/index.ts'
import { ensureSessionSecret } from '../config/secret.ts'
import { migrateToLatest, openDatabase, sqlitePathFor } from '../db/database.ts'
import { systemClock } from '../lib/clock.ts'
import { DatabaseBlockList, type BlockAdmin, type BlockEntry } from '../security/rate-limit/block-list.ts'
import { policyLimits, policyOfKey } from '../security/rate-limit/policies.ts'
import { RedisBlocks } from '../security/rate-limit/redis-blocks.ts'
import { closeRedisClient, createRedisClient, REDIS_TIMEOUT_MS } from '../security/rate-limit/redis-client.ts'
import { resolveCounterKey } from '../security/rate-limit/service.ts'
import { createUsernameKeyer } from '../security/rate-limit/username-key.ts'
import { describeArgsProblem, parseCommandLine } from './args.ts'
import { EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, type CliIo, type Command } from './io.ts'

const USAGE = `Usage: lectern rate-limits list [--json]
       lectern rate-limits clear KEY
       lectern rate-limits clear --username NAME
       lectern rate-limits clear --all

Shows and lifts current rate-limit blocks: a person locked out of signing in, registering or
uploading is let back in here. A block is a counter that has used up its policy's attempts;
KEY is as "list" shows it, POLICY:KIND:VALUE, for example:
  login:ip:203.0.113.7          RATE_LIMIT_LOGIN, failed sign-ins per client address
  register:ip:2001:db8:1:2::/64 RATE_LIMIT_REGISTER (IPv6 clients per /64)
  avatar:user:42                RATE_LIMIT_AVATAR, per user id
  password_check:user:42        RATE_LIMIT_PASSWORD_CHECK, wrong current passwords per user
  login_user:username:<hash>    RATE_LIMIT_LOGIN_USER, failed logins per username; the name
                                is kept only as a keyed hash, so name it with --username
"clear --all" lifts every block.

With REDIS_URL this reads and writes the shared counters in Redis: a cleared block is lifted
at once on every instance. Without it the counters live in each server's memory and the blocks
are listed in the database (DATA_DIR or DATABASE_URL): a cleared block is lifted at the
client's next attempt. Exit status: 0 done, 1 no such block or the store is unreachable,
2 usage error.
`

/** Dependencies a test can replace: how to reach Redis (so tests can isolate their keys). */
export interface RateLimitsCommandDeps {
  openRedis?: (url: string) => Redis
}

type Action = { kind: 'list'; json: boolean } | { kind: 'clear'; key: string } | { kind: 'clear-all' }

const OPTIONS = { json: { type: 'boolean' }, all: { type: 'boolean' }, username: { type: 'string' } } as const

function parseAction(argv: string[]): Action | string | 'help' {
  const parsed = parseCommandLine(argv, OPTIONS)
  if (parsed.help) return 'help'
  if (!parsed.ok) return describeArgsProblem(parsed.problem)
  const { values, positionals } = parsed
  const [verb, ...rest] = positionals
  if (verb === 'list') {
    if (rest.length > 0 || values.all || values.username !== undefined) return 'list takes no arguments'
    return { kind: 'list', json: values.json === true }
  }
  if (verb === 'clear') {
    const targets = [rest.length > 0, values.all === true, values.username !== undefined].filter(Boolean).length
    if (targets !== 1 || rest.length > 1 || values.json) return 'clear takes one KEY, --username NAME, or --all'
    if (values.all) return { kind: 'clear-all' }
    if (values.username !== undefined) {
      if (values.username === '') return '--username needs a name'
      return { kind: 'clear', key: `username:${values.username}` }
    }
    return { kind: 'clear', key: rest[0]! }
  }
  return verb === undefined ? 'a subcommand is required: list or clear' : `unknown subcommand "${verb}"`
}

/** Redis for the command line: no reconnecting, so an unreachable server is an error at once. */
async function connectRedis(url: string, deps: RateLimitsCommandDeps): Promise<Redis> {
  const client = deps.openRedis?.(url) ?? createRedisClient(url, { retryStrategy: () => null })
  if (client.status === 'ready') return client
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('timed out')), REDIS_TIMEOUT_MS * 4)
    const fail = (error: Error) => {
      clearTimeout(timer)
      client.off('ready', ok)
      reject(error)
    }
    const ok = () => {
      clearTimeout(timer)
      client.off('error', fail)
      resolve()
    }
    client.once('ready', ok)
    client.once('error', fail)
  }).catch((error: Error) => {
    client.disconnect()
    throw new Error(`Redis is unreachable (${error.message})`)
  })
  return client
}

async function withStore<T>(
  config: Config,
  deps: RateLimitsCommandDeps,
  use: (store: BlockAdmin) => Promise<T>,
): Promise<T> {
  if (config.redisUrl) {
    const redis = await connectRedis(config.redisUrl, deps)
    try {
      return await use(new RedisBlocks(redis, policyLimits(config)))
    } finally {
      if (!deps.openRedis) await closeRedisClient(redis)
    }
  }
  const database = openDatabase({
    databaseUrl: config.databaseUrl,
    sqlitePath: config.databaseUrl ? '' : sqlitePathFor(config.dataDir),
  })
  try {
    // The same schema the server would create: listing before the first start finds no blocks.
    await migrateToLatest(database.db)
    return await use(new DatabaseBlockList(database.db, systemClock))
  } finally {
    await database.close()
  }
}

function formatBlocks(blocks: BlockEntry[]): string {
  if (blocks.length === 0) return 'No rate-limit blocks.\n'
  const rows = [['KEY', 'POLICY', 'RESETS IN'], ...blocks.map((b) => [b.key, b.policy, `${b.resets_in_seconds}s`])]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return (
    rows
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  )
}

export async function runRateLimits(argv: string[], io: CliIo, deps: RateLimitsCommandDeps = {}): Promise<number> {
  const action = parseAction(argv)
  if (action === 'help') {
    io.stdout.write(USAGE)
    return EXIT_OK
  }
  if (typeof action === 'string') {
    io.stderr.write(`lectern rate-limits: ${action}\n\n${USAGE}`)
    return EXIT_USAGE
  }
  let config: Config
  try {
    config = loadConfig(io.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.stderr.write(`lectern: invalid configuration: ${error.message}\n`)
    return EXIT_USAGE
  }

  let key = ''
  if (action.kind === 'clear') {
    key = action.key.startsWith('username:')
      ? resolveCounterKey(action.key, createUsernameKeyer(ensureSessionSecret(config.sessionSecret, config.dataDir)))
      : action.key
    if (policyOfKey(key) === null) {
      io.stderr.write(`lectern rate-limits: "${action.key}" is not a rate-limit key (see "list")\n`)
      return EXIT_USAGE
    }
  }

  try {
    return await withStore(config, deps, async (store) => {
      if (action.kind === 'list') {
        const blocks = await store.list()
        io.stdout.write(action.json ? `${JSON.stringify({ blocks })}\n` : formatBlocks(blocks))
        return EXIT_OK
      }
      if (action.kind === 'clear-all') {
        const cleared = await store.clearAll()
        io.stdout.write(`Cleared ${cleared} rate-limit block${cleared === 1 ? '' : 's'}.\n`)
        return EXIT_OK
      }
      if (!(await store.clear(key))) {
        io.stderr.write(`lectern rate-limits: no current block for ${action.key}\n`)
        return EXIT_PROBLEM
      }
      io.stdout.write(`Cleared ${action.key}.\n`)
      return EXIT_OK
    })
  } catch (error) {
    io.stderr.write(`lectern rate-limits: ${(error as Error).message}\n`)
    return EXIT_PROBLEM
  }
}

export const rateLimitsCommand: Command = {
  name: 'rate-limits',
  summary: 'list and clear current rate-limit blocks',
  usage: USAGE,
  run: (argv, io) => runRateLimits(argv, io),
}
