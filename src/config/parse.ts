import { isIP } from 'node:net'

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  readonly variable: string

  constructor(variable: string, detail: string) {
    super(`${variable}: ${detail}`)
    this.variable = variable
    this.name = 'ConfigError'
  }
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** '90s', '15m', '1h', '1d' or bare seconds → milliseconds. */
export function parseDuration(value: string, variable: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim())
  if (!match) throw new ConfigError(variable, `"${value}" is not a duration (use 90s, 15m, 1h, 1d or seconds)`)
  const amount = Number(match[1])
  const seconds = amount * UNIT_SECONDS[match[2] || 's']!
  if (seconds <= 0 || !Number.isSafeInteger(seconds * 1000)) {
    throw new ConfigError(variable, `"${value}" must be a positive duration`)
  }
  return seconds * 1000
}

export interface Limit {
  points: number
  windowMs: number
}

/** 'COUNT/DURATION', e.g. '5/15m' → { points: 5, windowMs: 900000 }. */
export function parseLimit(value: string, variable: string): Limit {
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(value)
  if (!match) throw new ConfigError(variable, `"${value}" is not a limit (use COUNT/DURATION, e.g. 5/15m)`)
  const points = Number(match[1])
  if (points < 1 || !Number.isSafeInteger(points)) throw new ConfigError(variable, 'the count must be at least 1')
  return { points, windowMs: parseDuration(match[2]!, variable) }
}

export function parseInteger(value: string, variable: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(variable, `"${value}" is not a whole number`)
  const n = Number(value)
  if (n < min || n > max) throw new ConfigError(variable, `${n} is outside ${min}..${max}`)
  return n
}

/** Fastify's `trustProxy`: false, true, a hop count, or a list of addresses/CIDRs. */
export type TrustProxy = boolean | number | string[]

const PROXY_ADDR_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isAddressOrCidr(entry: string): boolean {
  if (PROXY_ADDR_NAMES.has(entry)) return true
  const [address, prefix, ...rest] = entry.split('/')
  if (rest.length > 0 || !address) return false
  const family = isIP(address)
  if (family === 0) return false
  if (prefix === undefined) return true
  if (!/^\d+$/.test(prefix)) return false
  return Number(prefix) <= (family === 4 ? 32 : 128)
}

export function parseTrustProxy(value: string | undefined, variable = 'TRUST_PROXY'): TrustProxy {
  if (value === undefined || value.trim() === '' || value.trim().toLowerCase() === 'false') return false
  const trimmed = value.trim()
  if (trimmed.toLowerCase() === 'true') return true
  if (/^\d+$/.test(trimmed)) return parseInteger(trimmed, variable, 1, 100)
  const entries = trimmed
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const bad = entries.find((entry) => !isAddressOrCidr(entry))
  if (bad !== undefined || entries.length === 0) {
    throw new ConfigError(variable, `"${bad ?? value}" is not true, a hop count, or an address/CIDR list`)
  }
  return entries
}

export function parseChoice<T extends string>(value: string, variable: string, choices: readonly T[]): T {
  const lowered = value.trim().toLowerCase() as T
  if (!choices.includes(lowered)) throw new ConfigError(variable, `"${value}" is not one of ${choices.join(', ')}`)
  return lowered
}

/** `true` or `false`, in any case. */
export function parseBoolean(value: string, variable: string): boolean {
  return parseChoice(value, variable, ['true', 'false'] as const) === 'true'
}
