import type { FastifyInstance } from 'fastify'
import { unauthorized } from '../../http/errors.ts'
import { signedIn } from '../../security/authz.ts'
import { verifyEmailBodySchema, type VerifyEmailBody } from './accounts.schemas.ts'
import type { AccountsService } from './accounts.service.ts'
import { requestVerificationLink, verifyEmailWithLink } from './email-verification.flows.ts'
import type { EmailVerificationService } from './email-verification.service.ts'

export interface EmailVerificationRoutesOptions {
  accounts: AccountsService
  verification: EmailVerificationService
}

/** The one answer of /api/email/verification, whatever came of it (the pages say more to the owner). */
export const VERIFICATION_REQUEST_ANSWER = { status: 'accepted' } as const

/** CONTRACT §10: email verification. */
export async function emailVerificationRoutes(app: FastifyInstance, opts: EmailVerificationRoutesOptions) {
  const { accounts, verification } = opts

  // Not limited per address: a link carries 256 random bits, nothing to guess, and a class
  // registering together behind one address must be able to follow its links (failures are
  // logged as auth_failure all the same).
  app.post<{ Body: VerifyEmailBody }>(
    '/email/verify',
    { schema: { body: verifyEmailBodySchema }, config: { access: 'public' } },
    async (req, reply) => {
      await verifyEmailWithLink(req, verification, req.body.token)
      return reply.code(204).send()
    },
  )

  // Each request may send an email: counted per client IP with the reset requests
  // (RATE_LIMIT_PASSWORD_RESET), on top of the cap per account.
  app.post('/email/verification', { config: { access: 'user', rateLimit: 'password_reset' } }, async (req, reply) => {
    const user = await accounts.findUser(signedIn(req).user.id)
    if (!user) throw unauthorized()
    await requestVerificationLink(req, verification, user)
    return reply.code(202).send(VERIFICATION_REQUEST_ANSWER)
  })
}
