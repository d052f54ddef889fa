import type { FastifyInstance } from 'fastify'
import { notFound } from '../../http/errors.ts'
import { signedIn } from '../../security/authz.ts'
import { invitationRevoked, invitationsSent } from './invitation-actions.ts'
import { presentIssued, presentPending } from './invitations.presenter.ts'
import {
  invitationIdParamsSchema,
  invitationTokenParamsSchema,
  invitationViewSchema,
  inviteBodySchema,
  inviteResponseSchema,
  pendingListResponseSchema,
  type InvitationIdParams,
  type InvitationTokenParams,
  type InviteBody,
} from './invitations.schemas.ts'
import type { InvitationsService } from './invitations.service.ts'

export interface InvitationsRoutesOptions {
  invitations: InvitationsService
}

export const INVITATION_NOT_FOUND_MESSAGE = 'Invitation not found'

/** CONTRACT §15: invitations made, listed and revoked by admins; looked at by whoever holds a link. */
export async function invitationsRoutes(app: FastifyInstance, opts: InvitationsRoutesOptions) {
  const { invitations } = opts
  const admin = { access: 'admin' } as const

  app.post<{ Body: InviteBody }>(
    '/admin/invitations',
    { config: admin, schema: { body: inviteBodySchema, response: { 201: inviteResponseSchema } } },
    async (req, reply) => {
      const role = req.body.role ?? 'learner'
      const result = await invitations.invite({
        emails: req.body.emails,
        role,
        course: req.body.course ?? null,
        invitedBy: signedIn(req).user.id,
      })
      invitationsSent(req, result, role)
      return reply.code(201).send({ invitations: result.invitations.map(presentIssued), errors: result.errors })
    },
  )

  app.get(
    '/admin/invitations',
    { config: admin, schema: { response: { 200: pendingListResponseSchema } } },
    async () => ({ invitations: (await invitations.pending()).map(presentPending) }),
  )

  app.delete<{ Params: InvitationIdParams }>(
    '/admin/invitations/:id',
    { config: admin, schema: { params: invitationIdParamsSchema } },
    async (req, reply) => {
      const revoked = await invitations.revoke(req.params.id)
      invitationRevoked(req, req.params.id, revoked !== undefined)
      if (!revoked) throw notFound(INVITATION_NOT_FOUND_MESSAGE)
      return reply.code(204).send()
    },
  )

  // Whoever holds the link may see what it invites to; an unknown, used or expired one is a 404.
  // The path holds the token: its request lines say /api/invitations/[redacted].
  app.get<{ Params: InvitationTokenParams }>(
    '/invitations/:token',
    {
      config: { access: 'public' },
      schema: { params: invitationTokenParamsSchema, response: { 200: invitationViewSchema } },
    },
    async (req) => {
      const invitation = await invitations.find(req.params.token)
      if (!invitation) throw notFound(INVITATION_NOT_FOUND_MESSAGE)
      return { email: invitation.email, role: invitation.role, course: invitation.course_slug }
    },
  )
}
