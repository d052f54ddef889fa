import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import type { MailAddress, SmtpSettings } from '../config/index.ts'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../lib/private-files.ts'

/** One message, ready to go: the recipient, the rendered template, and when it was sent. */
export interface OutgoingMail {
  to: string
  subject: string
  text: string
  /** The Date header, from the injected clock. */
  date: Date
}

export type TransportName = 'smtp' | 'outbox'

/** Where a message goes. `deliver` resolves once it is accepted, or rejects (and may be retried). */
export interface MailTransport {
  readonly name: TransportName
  deliver(mail: OutgoingMail): Promise<{ messageId: string }>
  close(): void
}

/** A relay that never answers must not hold a message (and the shutdown) for nodemailer's minutes. */
const CONNECTION_TIMEOUT_MS = 10_000
const GREETING_TIMEOUT_MS = 10_000
const SOCKET_TIMEOUT_MS = 30_000

// Only what the template wrote: never a file, a URL to fetch, or a header carried over from a request.
const composeOptions = (from: MailAddress, mail: OutgoingMail) => ({
  from: from.name === null ? from.address : { name: from.name, address: from.address },
  to: mail.to,
  subject: mail.subject,
  text: mail.text,
  date: mail.date,
  disableFileAccess: true,
  disableUrlAccess: true,
})

/**
 * nodemailer over SMTP_URL. smtp:// upgrades with STARTTLS whenever the relay offers it
 * (nodemailer's default) and verifies its certificate; smtps:// speaks TLS from the first byte.
 */
export function createSmtpTransport(settings: SmtpSettings, from: MailAddress): MailTransport {
  const transporter = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  })
  return {
    name: 'smtp',
    async deliver(mail) {
      const info = await transporter.sendMail(composeOptions(from, mail))
      return { messageId: info.messageId }
    },
    close: () => transporter.close(),
  }
}

/** `20260115T120000123Z`: outbox files sort by when they were written. */
const stamp = (date: Date) => date.toISOString().replace(/[-:.]/g, '')

/**
 * Without SMTP_URL: each message becomes one RFC 5322 file in `folder` (DATA_DIR/outbox), 0600
 * in a 0700 folder whatever the umask, for an operator to read what would have been sent. The
 * file is written under a hidden temporary name and renamed, so a reader never sees half of it.
 */
export function createOutboxTransport(folder: string, from: MailAddress): MailTransport {
  // The same composer as SMTP, so the outbox shows exactly the bytes a relay would have received.
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' })
  let folderReady: Promise<void> | null = null
  const ensureFolder = () => {
    folderReady ??= (async () => {
      await mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE })
      await chmod(folder, PRIVATE_DIR_MODE) // mkdir's mode passes through the umask; an old folder may be wider
    })().catch((error: unknown) => {
      folderReady = null // tried again with the next message
      throw error
    })
    return folderReady
  }
  return {
    name: 'outbox',
    async deliver(mail) {
      const info = await composer.sendMail(composeOptions(from, mail))
      await ensureFolder()
      const name = `${stamp(mail.date)}-${randomBytes(6).toString('hex')}.eml`
      const temporary = join(folder, `.${name}.tmp`)
      const file = await open(temporary, 'wx', PRIVATE_FILE_MODE)
      try {
        await file.chmod(PRIVATE_FILE_MODE) // open's mode passes through the umask too
        await file.writeFile(info.message)
        await file.sync()
      } catch (error) {
        await file.close()
        await rm(temporary, { force: true })
        throw error
      }
      await file.close()
      await rename(temporary, join(folder, name))
      return { messageId: info.messageId }
    },
    close: () => composer.close(),
  }
}
