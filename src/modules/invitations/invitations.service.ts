import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { badRequest, HttpError } from '../../http/errors.ts'
import type { Clock } from '../../lib/clock.ts'
import { invitationUrl, type Mailer, type Site } from '../../mail/index.ts'
import { newOneTimeToken, oneTimeTokenHash } from '../../security/one-time-token.ts'
import { createAccountsRepository, type UserRecord } from '../accounts/accounts.repository.ts'
import type { AccountsService } from '../accounts/accounts.service.ts'
import { createCourseProgressRepository } from '../progress/course-progress.repository.ts'
import { distinctAddresses } from './address-list.ts'
import {
  createInvitationsRepository,
  type InvitedRole,
  type PendingInvitation,
  type UsableInvitation,
} from './invitations.repository.ts'

/** CONTRACT §15: an invitation works for 7 days. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000
/** CONTRACT §15: addresses in one request, at most. */
export const MAX_INVITATIONS_PER_REQUEST = 500
export const INVALID_INVITATION_MESSAGE = 'Invalid or expired invitation'
export const UNKNOWN_COURSE_MESSAGE = 'Unknown course'
export const ALREADY_REGISTERED_MESSAGE = 'Email address already registered'

export interface InviteRequest {
  emails: readonly string[]
  role: InvitedRole
  /** A course slug: the new accounts are enrolled in it. */
  course: string | null
  invitedBy: number
}

export interface IssuedInvitation {
  id: number
  email: string
  url: string
  expiresAt: number
}

export interface InviteResult {
  invitations: IssuedInvitation[]
  errors: Array<{ email: string; error: string }>
  course: { slug: string; title: string } | null
  /** Pending invitations of the same addresses that the new ones replaced. */
  superseded: number
}

/** The refusal of an unknown, used, revoked or expired invitation: one message for all. */
export const invalidInvitation = () => badRequest(INVALID_INVITATION_MESSAGE)

export interface InvitationsDeps {
  db: Kysely<Database>
  accounts: Pick<AccountsService, 'registrationHash' | 'insertNew'>
  mailer: Mailer
  site: Site
  clock: Clock
}

/**
 * Invitations to register (CONTRACT §15), one implementation for the API and the pages: random
 * tokens stored as their hash, mailed under PUBLIC_URL, single use (consumed by one UPDATE in the
 * transaction that creates the account), 7 days. An invitation is the way in whatever
 * REGISTRATION says: it is an admin creating an account, with the person choosing its name.
 */
export function createInvitationsService(deps: InvitationsDeps) {
  const { db, accounts, mailer, site, clock } = deps
  const repository = createInvitationsRepository(db)

  return {
    async invite(request: InviteRequest): Promise<InviteResult> {
      const course = request.course === null ? null : await repository.findCourse(request.course)
      if (request.course !== null && !course) throw badRequest(UNKNOWN_COURSE_MESSAGE)
      const addresses = distinctAddresses(request.emails)
      const registered = await repository.registeredAddresses(addresses.map((address) => address.lower))
      const invited = addresses.filter((address) => !registered.has(address.lower))
      const nowMs = clock.now()
      const expiresAt = nowMs + INVITATION_TTL_MS
      const issued = invited.map((address) => ({ address, ...newOneTimeToken() }))
      const { ids, superseded } = await db.transaction().execute(async (trx) => {
        const inside = createInvitationsRepository(trx)
        await inside.lockIssuing()
        const superseded = await inside.removePendingFor(invited.map((address) => address.lower))
        const ids: number[] = []
        for (const { address, tokenHash } of issued) {
          ids.push(
            await inside.insert({
              tokenHash,
              email: address.email,
              emailLower: address.lower,
              role: request.role,
              courseId: course?.id ?? null,
              invitedBy: request.invitedBy,
              nowMs,
              expiresAt,
            }),
          )
        }
        return { ids, superseded }
      })
      const courseTitle = course?.title ?? null
      // Queued after the commit: no message ever carries a link that was rolled back.
      for (const { address, token } of issued) {
        mailer.send({
          to: address.email,
          kind: 'invitation',
          data: { token, expiresAt, role: request.role, courseTitle },
        })
      }
      return {
        invitations: issued.map(({ address, token }, index) => ({
          id: ids[index]!,
          email: address.email,
          url: invitationUrl(site, token),
          expiresAt,
        })),
        errors: addresses
          .filter((address) => registered.has(address.lower))
          .map((address) => ({ email: address.email, error: ALREADY_REGISTERED_MESSAGE })),
        course: course ? { slug: course.slug, title: course.title } : null,
        superseded,
      }
    },

    async pending(): Promise<PendingInvitation[]> {
      return repository.pending(clock.now())
    },

    /** undefined: no pending invitation has this id (used, revoked or never made). */
    async revoke(id: number): Promise<{ email: string } | undefined> {
      return repository.revoke(id)
    },

    /** The invitation of a link, while it still works. */
    async find(token: string): Promise<UsableInvitation | undefined> {
      return repository.findUsable(oneTimeTokenHash(token), clock.now())
    },

    /**
     * Creates the invitation's account: its address (verified: the link reached it), its role,
     * enrolled in its course. The name and password are checked before anything is written, so
     * a taken name or a refused password (400/409) leaves the invitation working; the invitation
     * is then consumed in the transaction that creates the account, so of two racing
     * registrations exactly one succeeds.
     */
    async accept(
      token: string,
      chosen: { username: string; password: string },
    ): Promise<{ user: UserRecord; invitationId: number; courseSlug: string | null }> {
      const tokenHash = oneTimeTokenHash(token)
      const invitation = await repository.findUsable(tokenHash, clock.now())
      if (!invitation) throw invalidInvitation()
      try {
        return await createAccount(tokenHash, invitation, chosen)
      } catch (error) {
        // A registration racing one that won with this invitation finds its address taken: what
        // it is told is that the invitation was used.
        const addressTaken = error instanceof HttpError && error.publicMessage === ALREADY_REGISTERED_MESSAGE
        if (addressTaken && !(await repository.findUsable(tokenHash, clock.now()))) throw invalidInvitation()
        throw error
      }
    },
  }

  async function createAccount(
    tokenHash: string,
    invitation: UsableInvitation,
    chosen: { username: string; password: string },
  ): Promise<{ user: UserRecord; invitationId: number; courseSlug: string | null }> {
    const passwordHash = await accounts.registrationHash({ ...chosen, email: invitation.email })
    const nowMs = clock.now()
    const user = await db.transaction().execute(async (trx) => {
      const inside = createInvitationsRepository(trx)
      const consumed = await inside.consume(tokenHash, nowMs)
      if (!consumed) throw invalidInvitation()
      const user = await accounts.insertNew(createAccountsRepository(trx), {
        username: chosen.username,
        email: consumed.email,
        passwordHash,
        nowMs,
        role: consumed.role,
        emailVerified: true,
      })
      await inside.recordAccount(consumed.id, user.id)
      if (consumed.course_id !== null)
        await createCourseProgressRepository(trx).enroll(user.id, consumed.course_id, nowMs)
      return user
    })
    return { user, invitationId: invitation.id, courseSlug: invitation.course_slug }
  }
}

export type InvitationsService = ReturnType<typeof createInvitationsService>
