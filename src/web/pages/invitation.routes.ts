import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import {
  LINK_TOKEN_MAX_LENGTH,
  registerBodySchema,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from '../../modules/accounts/accounts.schemas.ts'
import type { CredentialsService } from '../../modules/accounts/credentials.service.ts'
import type { UsableInvitation } from '../../modules/invitations/invitations.repository.ts'
import { INVALID_INVITATION_MESSAGE, type InvitationsService } from '../../modules/invitations/invitations.service.ts'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../security/passwords.ts'
import type { createFormChecks } from '../form-validation.ts'
import { emptyForm, formValues, noteFormProblem, submitForm, type FormState } from '../forms.ts'
import { DEFAULT_AFTER_SIGN_IN } from '../local-path.ts'
import { noReferrer, seeOther, type Pages } from '../page.ts'
import { REGISTER_ERRORS, REGISTER_HINTS } from './account.routes.ts'

export interface InvitationPagesOptions {
  pages: Pages
  credentials: CredentialsService
  invitations: Pick<InvitationsService, 'find'>
  forms: ReturnType<typeof createFormChecks>
}

const FIELDS = ['username', 'password'] as const
const LABELS = { username: 'Username', password: 'Password' }
const HINTS = { username: REGISTER_HINTS.username, password: REGISTER_HINTS.password }
const ERRORS = { username: REGISTER_ERRORS.username, password: REGISTER_ERRORS.password }
/** The registration rules of the two fields the person chooses; the address is the invitation's. */
const inviteFormSchema = {
  type: 'object',
  required: ['username', 'password'],
  properties: {
    username: registerBodySchema.properties.username,
    password: registerBodySchema.properties.password,
  },
} as const

const tokenOf = (req: FastifyRequest) => (req.params as { token: string }).token

/**
 * `/invite/<token>` (CONTRACT §15): the registration form of an invitation, its address fixed and
 * shown. Like the reset link's page, it sends no Referer and its request lines say
 * `/invite/[redacted]`; opening it changes nothing. The form counts under RATE_LIMIT_REGISTER with
 * the API, and only a link that does not work keeps its attempt.
 */
export async function invitationPages(app: FastifyInstance, opts: InvitationPagesOptions) {
  const { pages, credentials, invitations } = opts
  const check = opts.forms.compile(inviteFormSchema, ERRORS)
  const limits = {
    usernameMin: USERNAME_MIN_LENGTH,
    usernameMax: USERNAME_MAX_LENGTH,
    passwordMin: MIN_PASSWORD_LENGTH,
    passwordMax: MAX_PASSWORD_LENGTH,
  }

  const find = async (req: FastifyRequest) => {
    const token = tokenOf(req)
    return token.length > LINK_TOKEN_MAX_LENGTH ? undefined : invitations.find(token)
  }

  /** The form; without an invitation that works, only what to do instead. */
  const invitePage = (
    req: FastifyRequest,
    reply: FastifyReply,
    invitation: UsableInvitation | undefined,
    form: FormState,
    status = 200,
  ) =>
    pages.send(
      req,
      reply,
      'invite',
      {
        form,
        invitation: invitation ?? null,
        invalidMessage: INVALID_INVITATION_MESSAGE,
        action: `/invite/${encodeURIComponent(tokenOf(req))}`,
        hints: HINTS,
        labels: LABELS,
        limits,
      },
      { title: 'Accept your invitation', status, forms: invitation !== undefined },
    )

  const invalid = (req: FastifyRequest, reply: FastifyReply, status: number) => {
    noteFormProblem(req, INVALID_INVITATION_MESSAGE, 'HttpError')
    return invitePage(req, reply, undefined, emptyForm(), status)
  }

  app.get('/invite/:token', { config: { access: 'public', html: true }, onSend: noReferrer }, async (req, reply) => {
    const invitation = await find(req)
    if (!invitation) return invalid(req, reply, 404)
    return invitePage(req, reply, invitation, emptyForm())
  })

  app.post(
    '/invite/:token',
    {
      config: {
        access: 'public',
        html: true,
        rateLimit: 'register',
        keepFormWhenLimited: true,
        rateLimitWaiver: (req) => credentials.invitationWorks(tokenOf(req)),
        redisplayForm: async (req, reply, problem) => {
          const values = { username: formValues(req.body, ['username']).username! }
          return invitePage(
            req,
            reply,
            await find(req),
            { ...emptyForm(values), formError: problem.message },
            problem.status,
          )
        },
      },
      onSend: noReferrer,
    },
    async (req, reply) => {
      const invitation = await find(req)
      if (!invitation) {
        // Tried like any other token: the attempt stays counted and the refusal logged, as through the API.
        securityEvent(req, 'invitation_rejected', { reason: 'invalid_or_expired', via: 'form' })
        return invalid(req, reply, 400)
      }
      return submitForm(req, {
        fields: FIELDS,
        check,
        invalidMessage: 'Invalid invitation form',
        show: (form, status) => invitePage(req, reply, invitation, form, status),
        async act({ username, password }) {
          let courseSlug: string | null
          try {
            ;({ courseSlug } = await credentials.registerByInvitation(
              req,
              { invitation: tokenOf(req), username: username!, password: password! },
              { via: 'form' },
            ))
          } catch (error) {
            if (error instanceof HttpError && error.publicMessage === INVALID_INVITATION_MESSAGE) {
              return invalid(req, reply, 400)
            }
            throw error // a taken name or a refused password: the form again, the invitation unused
          }
          return courseSlug
            ? seeOther(reply, `/courses/${encodeURIComponent(courseSlug)}`, 'invitation-accepted')
            : seeOther(reply, DEFAULT_AFTER_SIGN_IN, 'invited-welcome')
        },
      })
    },
  )
}
