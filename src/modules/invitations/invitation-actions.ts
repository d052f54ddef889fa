import type { FastifyRequest } from 'fastify'
import { securityEvent } from '../../http/request-context.ts'
import type { InviteResult } from './invitations.service.ts'

type Via = { via?: 'page' }

/**
 * The admin_action lines of invitations, the same from the API and the admin page: who invited
 * how many, as what, to which course, by invitation id (never a link or a token).
 */
export function invitationsSent(req: FastifyRequest, result: InviteResult, role: string, via: Via = {}) {
  securityEvent(req, 'admin_action', {
    action: 'invite',
    actor_id: req.user?.id ?? null,
    outcome: 'done',
    role,
    course: result.course?.slug ?? null,
    invited: result.invitations.length,
    already_registered: result.errors.length,
    superseded: result.superseded,
    invitation_ids: result.invitations.map((invitation) => invitation.id),
    ...via,
  })
}

export function invitationRevoked(req: FastifyRequest, id: number, found: boolean, via: Via = {}) {
  securityEvent(req, 'admin_action', {
    action: 'revoke_invitation',
    actor_id: req.user?.id ?? null,
    target_id: id,
    outcome: found ? 'done' : 'not_found',
    ...via,
  })
}
