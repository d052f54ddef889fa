import type { Clock } from '../lib/clock.ts'
import { logEvent, type Logger } from '../logging/logger.ts'
import { renderMail, type MailKind, type Site, type TemplateData } from './templates.ts'
import type { MailTransport } from './transports.ts'

/** A message to send: the recipient, the template by name, and that template's data. */
export type MailMessage = { [K in MailKind]: { to: string; kind: K; data: TemplateData[K] } }[MailKind]

export interface Mailer {
  /** Queues the message and returns at once: the caller (a request) never waits for a relay. */
  send(message: MailMessage): void
  /** Stops taking messages and waits (bounded) for the queued ones; what is left is logged as failed. */
  close(): Promise<void>
}

/** Timers the mailer waits with: injected, so tests move time instead of sleeping. */
export interface MailTimers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemTimers: MailTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export interface MailerDeps {
  transport: MailTransport
  site: Site
  logger: Logger
  clock: Clock
  timers?: MailTimers
  /** Messages queued, in flight or waiting to retry, together; beyond it a message is dropped. */
  maxQueued?: number
  /** Attempts per message, the first included. */
  maxAttempts?: number
  /** Wait before the second attempt; each further one waits 4 times longer (1 s, 4 s, …). */
  firstRetryDelayMs?: number
  maxInFlight?: number
  /** How long close() waits for the queue. */
  closeTimeoutMs?: number
}

export const MAIL_DEFAULTS = {
  maxQueued: 1000,
  maxAttempts: 3,
  firstRetryDelayMs: 1000,
  maxInFlight: 2,
  closeTimeoutMs: 10_000,
} as const
const BACKOFF_FACTOR = 4

interface Job {
  message: MailMessage
  attempts: number
  retryTimer: unknown
}

type FailureReason = 'queue_full' | 'closed' | 'attempts_exhausted' | 'delivery_error' | 'shutdown'

/** The part of an address that says where it goes, never who it is for. */
function recipientDomain(address: string): string {
  const at = address.lastIndexOf('@')
  return at === -1 ? '' : address.slice(at + 1).toLowerCase()
}

/**
 * What an error may say in a log line: its codes, never its text, which can quote the recipient
 * (`550 <ann@example.org>: unknown user`) or, for a failed login, the relay's words about the user.
 */
function errorCodes(error: unknown): Record<string, unknown> {
  const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown }
  return {
    error_code: typeof code === 'string' ? code : null,
    response_code: typeof responseCode === 'number' ? responseCode : null,
  }
}

/**
 * The one way Lectern sends email: a small bounded queue in this process, a few attempts with
 * exponential backoff, and an `email_sent` or `email_failed` line for each message (its template
 * and transport, the recipient's domain; never the address, the body or a link).
 */
export function createMailer(deps: MailerDeps): Mailer {
  const { transport, site, logger, clock } = deps
  const timers = deps.timers ?? systemTimers
  const maxQueued = deps.maxQueued ?? MAIL_DEFAULTS.maxQueued
  const maxAttempts = deps.maxAttempts ?? MAIL_DEFAULTS.maxAttempts
  const firstRetryDelayMs = deps.firstRetryDelayMs ?? MAIL_DEFAULTS.firstRetryDelayMs
  const maxInFlight = deps.maxInFlight ?? MAIL_DEFAULTS.maxInFlight
  const closeTimeoutMs = deps.closeTimeoutMs ?? MAIL_DEFAULTS.closeTimeoutMs

  const ready: Job[] = []
  const waiting = new Set<Job>()
  let inFlight = 0
  let closing = false
  let onIdle: (() => void) | null = null

  const pending = () => ready.length + waiting.size + inFlight
  const described = (message: MailMessage) => ({
    kind: message.kind,
    transport: transport.name,
    recipient_domain: recipientDomain(message.to),
  })

  function failed(job: Job, reason: FailureReason, willRetry: boolean, error?: unknown) {
    logEvent(logger, willRetry ? 'warning' : 'error', 'email_failed', {
      extra: {
        ...described(job.message),
        reason,
        attempts: job.attempts,
        will_retry: willRetry,
        ...(error === undefined ? {} : errorCodes(error)),
      },
    })
  }

  function settle() {
    if (pending() === 0 && onIdle) onIdle()
    pump()
  }

  async function attempt(job: Job) {
    job.attempts += 1
    const startedAt = clock.now()
    try {
      const { message } = job
      const content = renderMail(site, message.kind, message.data as never)
      const { messageId } = await transport.deliver({ to: message.to, ...content, date: new Date(startedAt) })
      logEvent(logger, 'info', 'email_sent', {
        extra: {
          ...described(message),
          attempts: job.attempts,
          message_id: messageId,
          duration_ms: clock.now() - startedAt,
        },
      })
    } catch (error) {
      const attemptsLeft = job.attempts < maxAttempts
      const willRetry = attemptsLeft && !closing
      const reason = willRetry ? 'delivery_error' : attemptsLeft ? 'shutdown' : 'attempts_exhausted'
      failed(job, reason, willRetry, error)
      if (willRetry) {
        const delayMs = firstRetryDelayMs * BACKOFF_FACTOR ** (job.attempts - 1)
        waiting.add(job)
        job.retryTimer = timers.setTimeout(() => {
          waiting.delete(job)
          ready.push(job)
          pump()
        }, delayMs)
      }
    }
  }

  function pump() {
    while (inFlight < maxInFlight && ready.length > 0) {
      const job = ready.shift()!
      inFlight += 1
      void attempt(job).finally(() => {
        inFlight -= 1
        settle()
      })
    }
  }

  return {
    send(message) {
      const job: Job = { message, attempts: 0, retryTimer: null }
      if (closing) return failed(job, 'closed', false)
      if (pending() >= maxQueued) return failed(job, 'queue_full', false)
      ready.push(job)
      // Never in the caller's turn: rendering and connecting happen after it has answered.
      queueMicrotask(pump)
    },
    async close() {
      if (closing) return
      closing = true
      // A message waiting out its backoff gets its last attempt now rather than after the stop.
      for (const job of waiting) {
        timers.clearTimeout(job.retryTimer)
        ready.push(job)
      }
      waiting.clear()
      pump()
      if (pending() > 0) {
        let timer: unknown
        await new Promise<void>((resolve) => {
          onIdle = resolve
          timer = timers.setTimeout(resolve, closeTimeoutMs)
        })
        timers.clearTimeout(timer)
      }
      for (const job of ready.splice(0)) failed(job, 'shutdown', false)
      transport.close()
    },
  }
}
