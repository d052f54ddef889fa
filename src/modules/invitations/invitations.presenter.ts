import type { PendingInvitation } from './invitations.repository.ts'
import type { IssuedInvitation } from './invitations.service.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** One invitation of POST /api/admin/invitations's answer: its link is shown here only, never stored. */
export const presentIssued = (invitation: IssuedInvitation) => ({
  email: invitation.email,
  invite_url: invitation.url,
  expires_at: iso(invitation.expiresAt),
})

export const presentPending = (invitation: PendingInvitation) => ({
  id: invitation.id,
  email: invitation.email,
  role: invitation.role,
  course: invitation.course_slug,
  invited_by: invitation.invited_by_username,
  created_at: iso(invitation.created_at),
  expires_at: iso(invitation.expires_at),
})
