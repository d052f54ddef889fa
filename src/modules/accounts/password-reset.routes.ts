import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requestEvent, securityEvent } from '../../http/request-context.ts'
import { HttpError } from '../../http/errors.ts'
import {
  forgotPasswordBodySchema,
  resetPasswordBodySchema,
  type ForgotPasswordBody,
  type ResetPasswordBody,
} from './accounts.schemas.ts'
import { INVALID_RESET_LINK_MESSAGE, type PasswordResetService } from './password-reset.service.ts'

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

  /**
   * Worked out after the answer has gone: the look-up, the cap and the email take the same time
   * for no client, known address or not. What came of it is logged, never thrown.
   */
  function afterAnswer(req: FastifyRequest, email: string) {
    setImmediate(() => {
      resets.request(email).then(
        ({ outcome, userId }) => securityEvent(req, 'password_reset_requested', { outcome, target_user_id: userId }),
        (error: unknown) =>
          requestEvent(req, 'error', 'unhandled_error', {
            error: {
              type: error instanceof Error ? error.name : 'Error',
              message: error instanceof Error ? error.message : String(error),
              ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
            },
            extra: { during: 'password reset request' },
          }),
      )
    })
  }

  app.post<{ Body: ForgotPasswordBody }>(
    '/password/forgot',
    { schema: { body: forgotPasswordBodySchema }, config: limited },
    async (req, reply) => {
      afterAnswer(req, req.body.email)
      return reply.code(202).send(FORGOT_PASSWORD_ANSWER)
    },
  )

  app.post<{ Body: ResetPasswordBody }>(
    '/password/reset',
    { schema: { body: resetPasswordBodySchema }, config: limited },
    async (req, reply) => {
      try {
        const { userId, signedOut } = await resets.reset(req.body.token, req.body.new_password)
        securityEvent(req, 'password_reset', { target_user_id: userId, signed_out: signedOut, method: 'link' })
      } catch (error) {
        if (error instanceof HttpError && error.publicMessage === INVALID_RESET_LINK_MESSAGE) {
          securityEvent(req, 'auth_failure', { reason: 'invalid_reset_link' })
        }
        throw error
      }
      return reply.code(204).send()
    },
  )
}
