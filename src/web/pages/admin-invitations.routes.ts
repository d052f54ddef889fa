import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFound } from '../../http/errors.ts'
import { EMAIL_MAX_LENGTH } from '../../modules/accounts/accounts.schemas.ts'
import type { CatalogService } from '../../modules/catalog/catalog.service.ts'
import { distinctAddresses, splitPastedAddresses } from '../../modules/invitations/address-list.ts'
import { invitationRevoked, invitationsSent } from '../../modules/invitations/invitation-actions.ts'
import { INVITATION_NOT_FOUND_MESSAGE } from '../../modules/invitations/invitations.routes.ts'
import { invitationIdParamsSchema, type InvitationIdParams } from '../../modules/invitations/invitations.schemas.ts'
import {
  MAX_INVITATIONS_PER_REQUEST,
  UNKNOWN_COURSE_MESSAGE,
  type InvitationsService,
} from '../../modules/invitations/invitations.service.ts'
import { signedIn } from '../../security/authz.ts'
import type { createFormChecks } from '../form-validation.ts'
import { formValues, noteFormProblem, type FormState } from '../forms.ts'
import { noReferrer, seeOther, type Pages } from '../page.ts'

export interface AdminInvitationPagesOptions {
  pages: Pages
  invitations: InvitationsService
  courses: CatalogService
  forms: ReturnType<typeof createFormChecks>
}

const FIELDS = ['emails', 'role', 'course'] as const
const addressSchema = {
  type: 'object',
  properties: { email: { type: 'string', format: 'email', maxLength: EMAIL_MAX_LENGTH } },
} as const

/** What /admin's invitations section shows (admin.routes.ts adds it to the overview). */
export async function invitationsSection(invitations: Pick<InvitationsService, 'pending'>) {
  return {
    invitations: await invitations.pending(),
    inviteForm: { values: { emails: '', role: 'learner', course: '' }, errors: {}, formError: null } as FormState,
    maxInvitations: MAX_INVITATIONS_PER_REQUEST,
  }
}

/**
 * The invitations of `/admin` (CONTRACT §15) for people: a pasted list of addresses, a role and a
 * course; the links made are shown once, on a page that is never cached and sends no Referer;
 * pending invitations are revoked by a button. The same service and admin_action lines as the API.
 */
export async function adminInvitationPages(app: FastifyInstance, opts: AdminInvitationPagesOptions) {
  const { pages, invitations, courses } = opts
  const checkAddress = opts.forms.compile(addressSchema, { email: 'invalid' })

  /** The form again, with what was typed and what is wrong with it. */
  async function formAgain(req: FastifyRequest, reply: FastifyReply, form: FormState, status: number) {
    noteFormProblem(req, form.formError ?? 'Invalid invitation form')
    return pages.send(
      req,
      reply,
      'admin-invite',
      { inviteForm: form, courses: await courses.list(req.user), maxInvitations: MAX_INVITATIONS_PER_REQUEST },
      { title: 'Invite people', status },
    )
  }

  app.post(
    '/admin/invitations',
    { config: { access: 'admin', html: true }, onSend: noReferrer },
    async (req, reply) => {
      const values = formValues(req.body, FIELDS)
      const problem = (message: string, field: string | null = 'emails') =>
        formAgain(req, reply, { values, errors: field ? { [field]: message } : {}, formError: message }, 400)
      const role =
        values.role === 'instructor' ? 'instructor' : values.role === 'learner' || values.role === '' ? 'learner' : null
      if (role === null) return problem('Choose learner or instructor.', 'role')
      const emails = splitPastedAddresses(values.emails!)
      if (emails.length === 0) return problem('Enter at least one email address.')
      const distinct = distinctAddresses(emails)
      if (distinct.length > MAX_INVITATIONS_PER_REQUEST) {
        return problem(`At most ${MAX_INVITATIONS_PER_REQUEST} addresses at a time: this list has ${distinct.length}.`)
      }
      const malformed = distinct.filter(({ email }) => Object.keys(checkAddress({ email })).length > 0)
      if (malformed.length > 0) {
        return problem(
          `Not valid email addresses: ${malformed.map(({ email }) => email).join(', ')}. Nobody was invited.`,
        )
      }
      const course = values.course === '' ? null : values.course!
      let result
      try {
        result = await invitations.invite({ emails, role, course, invitedBy: signedIn(req).user.id })
      } catch (error) {
        if (error instanceof Error && error.message === UNKNOWN_COURSE_MESSAGE)
          return problem('Choose a course from the list.', 'course')
        throw error
      }
      invitationsSent(req, result, role, { via: 'page' })
      const expiresAt = result.invitations[0]?.expiresAt
      return pages.send(
        req,
        reply,
        'admin-invitation-links',
        {
          invitations: result.invitations,
          errors: result.errors,
          course: result.course,
          expiresAt:
            expiresAt === undefined ? '' : `${new Date(expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        },
        { title: 'Invitations sent', status: 201 },
      )
    },
  )

  app.post<{ Params: InvitationIdParams }>(
    '/admin/invitations/:id/revoke',
    { config: { access: 'admin', html: true }, schema: { params: invitationIdParamsSchema } },
    async (req, reply) => {
      const revoked = await invitations.revoke(req.params.id)
      invitationRevoked(req, req.params.id, revoked !== undefined, { via: 'page' })
      if (!revoked) throw notFound(INVITATION_NOT_FOUND_MESSAGE)
      return seeOther(reply, '/admin', 'invitation-revoked')
    },
  )
}
