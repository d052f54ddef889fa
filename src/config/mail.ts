import { ConfigError } from './parse.ts'

/** Where an SMTP relay is and how to reach it; the password stays here and in the transport only. */
export interface SmtpSettings {
  /** true for smtps:// (TLS from the first byte); smtp:// upgrades with STARTTLS when offered. */
  readonly secure: boolean
  readonly host: string
  readonly port: number
  /** null: the relay accepts mail without authentication (e.g. a local relay). */
  readonly auth: { readonly user: string; readonly pass: string } | null
}

/** A sender: an address with an optional display name, as in `Lectern <no-reply@example.org>`. */
export interface MailAddress {
  readonly name: string | null
  readonly address: string
}

const DEFAULT_PORTS: Record<string, number> = { 'smtp:': 587, 'smtps:': 465 }

/**
 * SMTP_URL → settings. No message names or repeats the value: it may hold the relay's password,
 * and the message is printed and logged (config_invalid).
 */
export function parseSmtpUrl(value: string | undefined, variable = 'SMTP_URL'): SmtpSettings | null {
  if (value === undefined || value.trim() === '') return null
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    throw new ConfigError(variable, 'is not a valid URL (use smtp://[user:password@]host:port or smtps://…)')
  }
  const defaultPort = DEFAULT_PORTS[url.protocol]
  if (defaultPort === undefined) throw new ConfigError(variable, 'must start with smtp:// or smtps://')
  if (url.hostname === '') throw new ConfigError(variable, 'must name a host')
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '' || /[?#]/.test(value)) {
    throw new ConfigError(variable, 'must be only smtp://[user:password@]host:port, without a path or options')
  }
  if (url.password !== '' && url.username === '') throw new ConfigError(variable, 'has a password without a user')
  let auth: SmtpSettings['auth'] = null
  if (url.username !== '') {
    try {
      auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
    } catch {
      throw new ConfigError(variable, 'has a user or password that is not valid percent-encoding')
    }
  }
  return Object.freeze({
    secure: url.protocol === 'smtps:',
    // An IPv6 literal is written in brackets in the URL; the socket wants it without them.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? defaultPort : Number(url.port),
    auth: auth && Object.freeze(auth),
  })
}

/**
 * PUBLIC_URL, or `http://HOST:PORT` when unset → an http(s) origin with an optional path and no
 * trailing slash, so that every link is `${publicUrl}/reset-password/…` whatever the operator typed.
 */
export function parsePublicUrl(value: string | undefined, host: string, port: number, variable = 'PUBLIC_URL'): string {
  if (value === undefined || value.trim() === '') {
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  }
  const raw = value.trim()
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(variable, `"${raw}" is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(variable, 'must start with http:// or https://')
  }
  if (/[?#]/.test(raw)) throw new ConfigError(variable, 'must not have a query string or a fragment')
  if (url.username !== '' || url.password !== '') throw new ConfigError(variable, 'must not hold credentials')
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

// Deliberately narrower than RFC 5322: what a relay and every client accept without quoting.
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const NAME_AND_ADDRESS = /^(.*?)\s*<([^<>]*)>$/

/** MAIL_FROM: `addr@domain` or `Display Name <addr@domain>` (the name may be quoted). */
export function parseMailAddress(value: string, variable = 'MAIL_FROM'): MailAddress {
  const raw = value.trim()
  // A line break in a header value would let the value add headers of its own.
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new ConfigError(variable, 'must not contain control characters')
  const match = NAME_AND_ADDRESS.exec(raw)
  let name = match ? match[1]!.trim() : ''
  const address = (match ? match[2]! : raw).trim()
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).trim()
  if (!ADDRESS.test(address) || address.length > 254) {
    throw new ConfigError(
      variable,
      `"${raw}" is not an email address (use name@example.org or Name <name@example.org>)`,
    )
  }
  if (/[<>"]/.test(name)) throw new ConfigError(variable, `"${raw}" has a display name with <, > or a stray quote`)
  return Object.freeze({ name: name === '' ? null : name, address })
}
