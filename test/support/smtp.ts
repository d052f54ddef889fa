import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** One message the test server accepted: the envelope, the raw bytes and their parsed form. */
export interface ReceivedMail {
  envelopeFrom: string | null
  envelopeTo: string[]
  raw: string
  parsed: ParsedMail
}

export interface TestSmtpServer {
  port: number
  /** `smtp://…` for SMTP_URL, with these credentials when given. */
  url(credentials?: { user: string; pass: string }): string
  /** Every message accepted so far, in order. */
  received: ReceivedMail[]
  /** Transactions refused so far (by `refuse`). */
  refused: number
  /** Resolves once `count` messages have been accepted. */
  waitForMessages(count: number): Promise<ReceivedMail[]>
  /** Resolves once `count` transactions have been refused. */
  waitForRefusals(count: number): Promise<void>
  stop(): Promise<void>
}

export interface TestSmtpOptions {
  /**
   * Called for each message's DATA with the number of the transaction (1, 2, …): a reply code
   * (e.g. 451) refuses it, null accepts it.
   */
  refuse?: (transaction: number) => number | null
  /** The credentials the server demands; without them it takes mail from anyone. */
  credentials?: { user: string; pass: string }
}

/**
 * A real SMTP server on a free loopback port (smtp-server), receiving over TCP what Lectern sends.
 * It does not offer STARTTLS: on loopback nothing is gained and no certificate is needed.
 */
export async function startTestSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = []
  let transactions = 0
  let refused = 0
  const waiters = new Set<() => void>()
  const wake = () => waiters.forEach((waiter) => waiter())
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!done()) return
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
      check()
    })

  const { credentials } = options
  const server = new SMTPServer({
    disabledCommands: credentials ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !credentials,
    logger: false,
    onAuth(auth, _session, callback) {
      if (credentials && auth.username === credentials.user && auth.password === credentials.pass) {
        return callback(null, { user: auth.username })
      }
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        transactions += 1
        const code = options.refuse?.(transactions) ?? null
        if (code !== null) {
          refused += 1
          callback(Object.assign(new Error('Try again later'), { responseCode: code }))
          wake()
          return
        }
        const raw = Buffer.concat(chunks).toString('utf8')
        void simpleParser(raw).then((parsed) => {
          const from = session.envelope.mailFrom
          received.push({
            envelopeFrom: from ? from.address : null,
            envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw,
            parsed,
          })
          callback()
          wake()
        }, callback)
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.server.address() as AddressInfo
  return {
    port,
    url: (auth) =>
      auth
        ? `smtp://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@127.0.0.1:${port}`
        : `smtp://127.0.0.1:${port}`,
    received,
    get refused() {
      return refused
    },
    async waitForMessages(count) {
      await until(() => received.length >= count)
      return received
    },
    waitForRefusals: (count) => until(() => refused >= count),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The link every registration sends (CONTRACT §10): suites about other mail look past it. */
export const isVerificationMail = (mail: ReceivedMail) =>
  mail.parsed.subject?.startsWith('Confirm your email address') === true
