import nodemailer from 'nodemailer'
import type { SmtpSettings } from '../../config/index.ts'
import { createRedisClient, pingRedis } from '../../security/rate-limit/redis-client.ts'

/** A check waits this long for a server that does not answer: the report comes in seconds. */
export const PROBE_TIMEOUT_MS = 3000

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Connects once (no retries), PINGs and disconnects; rejects when Redis does not answer in time. */
export async function probeRedis(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  const client = createRedisClient(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  })
  try {
    await within(client.connect(), timeoutMs, 'connecting')
    await pingRedis(client)
  } finally {
    client.disconnect()
  }
}

/**
 * Connects to the relay, says EHLO (upgrading with STARTTLS when offered, as the mailer does) and
 * logs in when SMTP_URL has credentials, then quits: nodemailer's verify(). Nothing is sent.
 */
export async function probeSmtp(settings: SmtpSettings, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  const transporter = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  })
  try {
    await within(transporter.verify(), timeoutMs * 2, 'EHLO')
  } finally {
    transporter.close()
  }
}
