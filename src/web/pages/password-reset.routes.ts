import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../../http/errors.ts'
import {
  EMAIL_MAX_LENGTH,
  forgotPasswordBodySchema,
  resetPasswordBodySchema,
  LINK_TOKEN_MAX_LENGTH,
} from '../../modules/accounts/accounts.schemas.ts'
import {
  requestResetLinkAfterAnswer,
  resetLinkWaiver,
  resetPasswordWithLink,
} from '../../modules/accounts/password-reset.flows.ts'
import { INVALID_RESET_LINK_MESSAGE, type PasswordResetService } from '../../modules/accounts/password-reset.service.ts'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../security/passwords.ts'
import type { createFormChecks } from '../form-validation.ts'
import { emptyForm, noteFormProblem, submitForm, type FormState } from '../forms.ts'
import { noReferrer, seeOther, type Pages } from '../page.ts'

export interface PasswordResetPagesOptions {
  pages: Pages
  resets: PasswordResetService
  forms: ReturnType<typeof createFormChecks>
}

const FORGOT_FIELDS = ['email'] as const
/** Named `password` like the registration form's, so the password rules' messages land next to it. */
const RESET_FIELDS = ['password'] as const
const FORGOT_LABELS = { email: 'Email address' }
const RESET_LABELS = { password: 'New password' }
const FORGOT_ERRORS = { email: 'Enter the email address of your account.' }
const RESET_ERRORS = {
  password: `Choose a password of at least ${MIN_PASSWORD_LENGTH} characters (at most ${MAX_PASSWORD_LENGTH}).`,
}
const RESET_HINT = `At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a strong one.`
/** The new-password rule of POST /api/password/reset, for the form's one field. */
const resetFormSchema = {
  type: 'object',
  required: ['password'],
  properties: { password: resetPasswordBodySchema.properties.new_password },
} as const

/**
 * Counted per client IP together with /api/password/forgot and /api/password/reset
 * (RATE_LIMIT_PASSWORD_RESET): a form is no way around the limit on asking for links or trying tokens.
 */
const LIMITED = { access: 'public', html: true, rateLimit: 'password_reset' } as const

const tokenOf = (req: FastifyRequest) => (req.params as { token: string }).token

/**
 * Password recovery for people (CONTRACT §10 "Pages"), over the same flows as the API: asking for
 * a link answers the same page whatever the address, and the work happens after the answer;
 * opening a link changes nothing (mail scanners open links), only the form's POST sets the password.
 */
export async function passwordResetPages(app: FastifyInstance, opts: PasswordResetPagesOptions) {
  const { pages, resets } = opts
  const checkForgot = opts.forms.compile(forgotPasswordBodySchema, FORGOT_ERRORS)
  const checkReset = opts.forms.compile(resetFormSchema, RESET_ERRORS)
  const limits = { emailMax: EMAIL_MAX_LENGTH, passwordMin: MIN_PASSWORD_LENGTH, passwordMax: MAX_PASSWORD_LENGTH }

  const forgotPage = (req: FastifyRequest, reply: FastifyReply, form: FormState, status = 200, sent = false) =>
    pages.send(
      req,
      reply,
      'forgot-password',
      { form, sent, labels: FORGOT_LABELS, limits },
      { title: 'Forgot your password?', status, forms: true },
    )
  /** The form for a new password; `linkInvalid` shows only the way to ask for a new link. */
  const resetPage = (req: FastifyRequest, reply: FastifyReply, form: FormState, status = 200, linkInvalid = false) =>
    pages.send(
      req,
      reply,
      'reset-password',
      {
        form,
        linkInvalid,
        invalidMessage: INVALID_RESET_LINK_MESSAGE,
        action: `/reset-password/${encodeURIComponent(tokenOf(req))}`,
        hint: RESET_HINT,
        labels: RESET_LABELS,
        limits,
      },
      { title: 'Choose a new password', status, forms: true },
    )
  const invalidLink = (req: FastifyRequest, reply: FastifyReply) => {
    noteFormProblem(req, INVALID_RESET_LINK_MESSAGE, 'HttpError')
    return resetPage(req, reply, emptyForm(), 400, true)
  }

  app.get('/forgot-password', { config: { access: 'public', html: true } }, async (req, reply) =>
    forgotPage(req, reply, emptyForm()),
  )

  app.post(
    '/forgot-password',
    {
      config: {
        ...LIMITED,
        redisplayForm: (req, reply, problem) =>
          forgotPage(req, reply, { ...emptyForm(), formError: problem.message }, problem.status),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: FORGOT_FIELDS,
        check: checkForgot,
        invalidMessage: 'Invalid forgotten password form',
        show: (form, status) => forgotPage(req, reply, form, status),
        async act({ email }) {
          requestResetLinkAfterAnswer(req, resets, email!)
          // Not a redirect: the same page, whatever the address, never naming it.
          return forgotPage(req, reply, emptyForm(), 200, true)
        },
      }),
  )

  app.get(
    '/reset-password/:token',
    { config: { access: 'public', html: true }, onSend: noReferrer },
    async (req, reply) => resetPage(req, reply, emptyForm()),
  )

  app.post(
    '/reset-password/:token',
    {
      config: {
        ...LIMITED,
        rateLimitWaiver: resetLinkWaiver(resets, tokenOf),
        redisplayForm: (req, reply, problem) =>
          resetPage(req, reply, { ...emptyForm(), formError: problem.message }, problem.status),
      },
      onSend: noReferrer,
    },
    async (req, reply) => {
      const token = tokenOf(req)
      if (token.length > LINK_TOKEN_MAX_LENGTH) return invalidLink(req, reply)
      return submitForm(req, {
        fields: RESET_FIELDS,
        check: checkReset,
        invalidMessage: 'Invalid reset password form',
        show: (form, status) => resetPage(req, reply, form, status),
        async act({ password }) {
          try {
            await resetPasswordWithLink(req, resets, token, password!)
          } catch (error) {
            if (error instanceof HttpError && error.publicMessage === INVALID_RESET_LINK_MESSAGE) {
              return invalidLink(req, reply)
            }
            throw error // a password the rules refuse: the form again, the link unused
          }
          return seeOther(reply, '/login', 'password-reset')
        },
      })
    },
  )
}
