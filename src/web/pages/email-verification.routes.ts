import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../../http/errors.ts'
import { LINK_TOKEN_MAX_LENGTH } from '../../modules/accounts/accounts.schemas.ts'
import { verifyEmailWithLink } from '../../modules/accounts/email-verification.flows.ts'
import {
  INVALID_VERIFICATION_LINK_MESSAGE,
  type EmailVerificationService,
} from '../../modules/accounts/email-verification.service.ts'
import { noteFormProblem } from '../forms.ts'
import { noReferrer, seeOther, type Pages } from '../page.ts'

export interface EmailVerificationPagesOptions {
  pages: Pages
  verification: EmailVerificationService
}

const tokenOf = (req: FastifyRequest) => (req.params as { token: string }).token

/**
 * `/verify-email/<token>` (CONTRACT §10 "Pages"): opening the link changes nothing, since mail
 * scanners open links; the owner confirms with the button, a POST with its CSRF token. Not
 * limited per address, like POST /api/email/verify: nothing to guess in 256 random bits, and a
 * class confirming its addresses together from one network must not be turned away.
 */
export async function emailVerificationPages(app: FastifyInstance, opts: EmailVerificationPagesOptions) {
  const { pages, verification } = opts

  const verifyPage = (req: FastifyRequest, reply: FastifyReply, status = 200, linkInvalid = false) =>
    pages.send(
      req,
      reply,
      'verify-email',
      {
        linkInvalid,
        invalidMessage: INVALID_VERIFICATION_LINK_MESSAGE,
        signedIn: req.user !== null,
        action: `/verify-email/${encodeURIComponent(tokenOf(req))}`,
      },
      { title: 'Confirm your email address', status, forms: true },
    )
  const invalidLink = (req: FastifyRequest, reply: FastifyReply) => {
    noteFormProblem(req, INVALID_VERIFICATION_LINK_MESSAGE, 'HttpError')
    return verifyPage(req, reply, 400, true)
  }

  app.get(
    '/verify-email/:token',
    { config: { access: 'public', html: true }, onSend: noReferrer },
    async (req, reply) => verifyPage(req, reply),
  )

  app.post(
    '/verify-email/:token',
    { config: { access: 'public', html: true }, onSend: noReferrer },
    async (req, reply) => {
      const token = tokenOf(req)
      if (token.length > LINK_TOKEN_MAX_LENGTH) return invalidLink(req, reply)
      try {
        await verifyEmailWithLink(req, verification, token)
      } catch (error) {
        if (error instanceof HttpError && error.publicMessage === INVALID_VERIFICATION_LINK_MESSAGE) {
          return invalidLink(req, reply)
        }
        throw error
      }
      // Whoever is signed in here, the notice says only that an address was verified.
      return seeOther(reply, req.user ? '/profile' : '/login', 'email-verified')
    },
  )
}
