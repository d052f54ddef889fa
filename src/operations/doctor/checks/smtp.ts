import { ok, problem, type DoctorCheck } from '../types.ts'

/** Without a relay that answers, password-reset and verification emails never leave. */
export const smtpCheck: DoctorCheck = {
  name: 'smtp',
  level: 'FAIL',
  fix: 'check SMTP_URL (host, port, user and password) and that the relay accepts connections from here',
  scope: 'any',
  async run({ config, verifySmtp }) {
    if (!config.smtp || !verifySmtp) {
      return problem('SMTP_URL is not set: every email is written to DATA_DIR/outbox/ and nobody receives it', {
        level: 'WARN',
        fix: 'set SMTP_URL=smtp://user:password@host:587 (or smtps://…) to send email',
      })
    }
    // Host and port only: the URL may hold the relay's password.
    const relay = `${config.smtp.host}:${config.smtp.port}`
    try {
      await verifySmtp()
      return ok(`the relay at ${relay} answers EHLO`)
    } catch (error) {
      return problem(`the relay at ${relay} does not answer: ${(error as Error).message}`)
    }
  },
}
