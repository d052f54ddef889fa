import { resolve } from 'node:path'
import { parseMailAddress, parsePublicUrl, parseSmtpUrl, type MailAddress, type SmtpSettings } from './mail.ts'
import {
  ConfigError,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseInteger,
  parseLimit,
  parseTrustProxy,
  type Limit,
  type TrustProxy,
} from './parse.ts'

export { ConfigError, parseDuration, parseLimit, parseTrustProxy } from './parse.ts'
export type { Limit, TrustProxy } from './parse.ts'
export type { MailAddress, SmtpSettings } from './mail.ts'

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** REQUIRE_2FA_FOR: `staff` is admins and instructors. */
export const REQUIRE_2FA_CHOICES = ['none', 'admin', 'staff'] as const
export type Require2faFor = (typeof REQUIRE_2FA_CHOICES)[number]

export const MIN_SESSION_SECRET_BYTES = 32
export const MIN_METRICS_TOKEN_LENGTH = 16
/** CONTRACT §2: a year of security events unless the operator says otherwise. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 365
/** A hundred years: beyond it the cut-off in milliseconds stops meaning anything. */
export const MAX_AUDIT_RETENTION_DAYS = 36_500
/** CONTRACT §15: who may create an account by registering (an invitation works in every mode). */
export const REGISTRATION_MODES = ['open', 'invite', 'closed'] as const
export type RegistrationMode = (typeof REGISTRATION_MODES)[number]

export interface Config {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly databaseUrl: string | null
  readonly redisUrl: string | null
  /** null: generate once and keep it in DATA_DIR (see ensureSessionSecret). */
  readonly sessionSecret: string | null
  readonly trustProxy: TrustProxy
  readonly cookieSecure: 'auto' | 'true' | 'false'
  readonly logLevel: LogLevel
  readonly logFile: string | null
  readonly logRetentionDays: number
  readonly csrfTokenTtlMs: number
  readonly rateLimits: {
    readonly login: Limit
    readonly loginUser: Limit
    readonly register: Limit
    readonly avatar: Limit
    /** Wrong current passwords per signed-in user (password change, and every re-authentication). */
    readonly passwordCheck: Limit
    readonly passwordCheckIp: Limit
    /** Changes of email address per signed-in user: each says whether an address is taken. */
    readonly emailChange: Limit
    readonly emailChangeIp: Limit
    /** Password-reset and verification-email requests per client IP. */
    readonly passwordReset: Limit
    /** Graded quiz attempts per learner and lesson. */
    readonly quiz: Limit
    /** Wrong two-factor codes per account (CONTRACT §11), from any address. */
    readonly twoFactor: Limit
  }
  readonly maxUploadBytes: number
  readonly maxImageWidth: number
  readonly maxImageHeight: number
  /** Bearer token for GET /metrics; null: the endpoint is off (404). */
  readonly metricsToken: string | null
  /** Where people reach Lectern, without a trailing slash: every link in an email starts with it. */
  readonly publicUrl: string
  /** false: PUBLIC_URL was not set and publicUrl is the listening address (doctor warns). */
  readonly publicUrlConfigured: boolean
  /** null: no relay, every message is written to DATA_DIR/outbox/ (src/mail/outbox.ts). */
  readonly smtp: SmtpSettings | null
  readonly mailFrom: MailAddress
  readonly passwordResetTtlMs: number
  /** true: an account signs in only once its address is verified. */
  readonly requireEmailVerification: boolean
  /** Roles that must have a second factor before they can use the API (CONTRACT §11). */
  readonly require2faFor: Require2faFor
  /** Days the audit trail keeps a security event in the database (modules/audit). */
  readonly auditRetentionDays: number
  /** BACKUP_DIR: where backups are kept, for `doctor` to find the newest; null: not said. */
  readonly backupDir: string | null
  /** `open`: anyone registers; `invite`: only with an invitation; `closed`: only admins create accounts. */
  readonly registration: RegistrationMode
  /** Whom people should contact (a name, an address, a phone number: free text), shown where they are told to; null: unset. */
  readonly supportContact: string | null
}

/** The longest SUPPORT_CONTACT: a name and an address or two, not a paragraph. */
export const MAX_SUPPORT_CONTACT_CHARS = 200

/** Free text, one line of at most MAX_SUPPORT_CONTACT_CHARS printable characters; unset or blank: null. */
function parseSupportContact(value: string | undefined): string | null {
  const text = value?.trim() ?? ''
  if (text === '') return null
  // Control characters (line breaks included) and bidirectional overrides would break or spoof the page.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u.test(text)) {
    throw new ConfigError('SUPPORT_CONTACT', 'must be one line of text without control characters')
  }
  if ([...text].length > MAX_SUPPORT_CONTACT_CHARS) {
    throw new ConfigError('SUPPORT_CONTACT', `must be at most ${MAX_SUPPORT_CONTACT_CHARS} characters`)
  }
  return text
}

type Env = Readonly<Record<string, string | undefined>>

function urlWithScheme(value: string | undefined, variable: string, schemes: string[]): string | null {
  if (value === undefined || value.trim() === '') return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(variable, 'is not a valid URL')
  }
  if (!schemes.includes(url.protocol)) {
    throw new ConfigError(variable, `must start with ${schemes.map((s) => `${s}//`).join(' or ')}`)
  }
  return value
}

function sessionSecret(value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  if (Buffer.byteLength(value, 'utf8') < MIN_SESSION_SECRET_BYTES) {
    throw new ConfigError('SESSION_SECRET', `must be at least ${MIN_SESSION_SECRET_BYTES} bytes`)
  }
  return value
}

/**
 * The whole configuration, parsed and validated once from the environment.
 * Nothing else reads process.env: tests pass their own values.
 * Throws ConfigError naming the first bad variable.
 */
export function loadConfig(env: Env, cwd = process.cwd()): Config {
  const get = (name: string, fallback: string) => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? fallback : value
  }
  const port = parseInteger(get('PORT', '3000'), 'PORT', 0, 65535)
  const host = get('HOST', '127.0.0.1').trim()
  if (host === '') throw new ConfigError('HOST', 'must not be empty')
  const config: Config = {
    port,
    host,
    dataDir: resolve(cwd, get('DATA_DIR', './data')),
    databaseUrl: urlWithScheme(env.DATABASE_URL, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: urlWithScheme(env.REDIS_URL, 'REDIS_URL', ['redis:', 'rediss:']),
    sessionSecret: sessionSecret(env.SESSION_SECRET),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    cookieSecure: parseChoice(get('COOKIE_SECURE', 'auto'), 'COOKIE_SECURE', ['auto', 'true', 'false'] as const),
    logLevel: parseChoice(get('LOG_LEVEL', 'info'), 'LOG_LEVEL', LOG_LEVELS),
    logFile: env.LOG_FILE?.trim() ? resolve(cwd, env.LOG_FILE.trim()) : null,
    logRetentionDays: parseInteger(get('LOG_RETENTION_DAYS', '14'), 'LOG_RETENTION_DAYS', 1, 3650),
    csrfTokenTtlMs: parseDuration(get('CSRF_TOKEN_TTL', '1h'), 'CSRF_TOKEN_TTL'),
    rateLimits: Object.freeze({
      login: parseLimit(get('RATE_LIMIT_LOGIN', '5/15m'), 'RATE_LIMIT_LOGIN'),
      loginUser: parseLimit(get('RATE_LIMIT_LOGIN_USER', '10/15m'), 'RATE_LIMIT_LOGIN_USER'),
      register: parseLimit(get('RATE_LIMIT_REGISTER', '5/1h'), 'RATE_LIMIT_REGISTER'),
      avatar: parseLimit(get('RATE_LIMIT_AVATAR', '10/1h'), 'RATE_LIMIT_AVATAR'),
      passwordCheck: parseLimit(get('RATE_LIMIT_PASSWORD_CHECK', '5/15m'), 'RATE_LIMIT_PASSWORD_CHECK'),
      passwordCheckIp: parseLimit(get('RATE_LIMIT_PASSWORD_CHECK_IP', '20/15m'), 'RATE_LIMIT_PASSWORD_CHECK_IP'),
      emailChange: parseLimit(get('RATE_LIMIT_EMAIL_CHANGE', '5/1h'), 'RATE_LIMIT_EMAIL_CHANGE'),
      emailChangeIp: parseLimit(get('RATE_LIMIT_EMAIL_CHANGE_IP', '20/1h'), 'RATE_LIMIT_EMAIL_CHANGE_IP'),
      passwordReset: parseLimit(get('RATE_LIMIT_PASSWORD_RESET', '5/1h'), 'RATE_LIMIT_PASSWORD_RESET'),
      quiz: parseLimit(get('RATE_LIMIT_QUIZ', '30/1h'), 'RATE_LIMIT_QUIZ'),
      twoFactor: parseLimit(get('RATE_LIMIT_2FA', '5/15m'), 'RATE_LIMIT_2FA'),
    }),
    maxUploadBytes: parseInteger(get('MAX_UPLOAD_BYTES', '5242880'), 'MAX_UPLOAD_BYTES', 1024, 1024 * 1024 * 1024),
    maxImageWidth: parseInteger(get('MAX_IMAGE_WIDTH', '4096'), 'MAX_IMAGE_WIDTH', 1, 65535),
    maxImageHeight: parseInteger(get('MAX_IMAGE_HEIGHT', '4096'), 'MAX_IMAGE_HEIGHT', 1, 65535),
    metricsToken: env.METRICS_TOKEN?.trim() ? env.METRICS_TOKEN.trim() : null,
    publicUrl: parsePublicUrl(env.PUBLIC_URL, host, port),
    publicUrlConfigured: Boolean(env.PUBLIC_URL?.trim()),
    smtp: parseSmtpUrl(env.SMTP_URL),
    mailFrom: parseMailAddress(get('MAIL_FROM', 'Lectern <no-reply@localhost>')),
    passwordResetTtlMs: parseDuration(get('PASSWORD_RESET_TTL', '30m'), 'PASSWORD_RESET_TTL'),
    requireEmailVerification: parseBoolean(get('REQUIRE_EMAIL_VERIFICATION', 'false'), 'REQUIRE_EMAIL_VERIFICATION'),
    require2faFor: parseChoice(get('REQUIRE_2FA_FOR', 'none'), 'REQUIRE_2FA_FOR', REQUIRE_2FA_CHOICES),
    auditRetentionDays: parseInteger(
      get('AUDIT_RETENTION_DAYS', String(DEFAULT_AUDIT_RETENTION_DAYS)),
      'AUDIT_RETENTION_DAYS',
      1,
      MAX_AUDIT_RETENTION_DAYS,
    ),
    backupDir: env.BACKUP_DIR?.trim() ? resolve(cwd, env.BACKUP_DIR.trim()) : null,
    registration: parseChoice(get('REGISTRATION', 'open'), 'REGISTRATION', REGISTRATION_MODES),
    supportContact: parseSupportContact(env.SUPPORT_CONTACT),
  }
  if (config.metricsToken !== null && config.metricsToken.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new ConfigError('METRICS_TOKEN', `must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`)
  }
  return Object.freeze(config)
}
