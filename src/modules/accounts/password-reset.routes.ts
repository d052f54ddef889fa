import type { FastifyInstance } from 'fastify'
import {
  forgotPasswordBodySchema,
  resetPasswordBodySchema,
  type ForgotPasswordBody,
  type ResetPasswordBody,
} from './accounts.schemas.ts'
import { requestResetLinkAfterAnswer, resetLinkWaiver, resetPasswordWithLink } from './password-reset.flows.ts'
import type { PasswordResetService } from './password-reset.service.ts'

export interface PasswordResetRoutesOptions {
  resets: PasswordResetService
}

/** The one answer of /api/password/forgot, whoever asked and whatever came of it. */
export const FORGOT_PASSWORD_ANSWER = { status: 'accepted' } as const

/**
 * Both routes count every attempt per client IP (RATE_LIMIT_PASSWORD_RESET): asking for links
 * (mail bombing, probing addresses) and trying tokens (guessing) alike.
 */
const limited = { access: 'public', rateLimit: 'password_reset' } as const

/** CONTRACT §10: password recovery by email. */
export async function passwordResetRoutes(app: FastifyInstance, opts: PasswordResetRoutesOptions) {
  const { resets } = opts

  app.post<{ Body: ForgotPasswordBody }>(
    '/password/forgot',
    { schema: { body: forgotPasswordBodySchema }, config: limited },
    async (req, reply) => {
      requestResetLinkAfterAnswer(req, resets, req.body.email)
      return reply.code(202).send(FORGOT_PASSWORD_ANSWER)
    },
  )

  app.post<{ Body: ResetPasswordBody }>(
    '/password/reset',
    {
      schema: { body: resetPasswordBodySchema },
      config: {
        ...limited,
        rateLimitWaiver: resetLinkWaiver(resets, (req) => (req.body as { token?: unknown } | null)?.token),
      },
    },
    async (req, reply) => {
      await resetPasswordWithLink(req, resets, req.body.token, req.body.new_password)
      return reply.code(204).send()
    },
  )
}
