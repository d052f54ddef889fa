import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFound } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { Role } from '../../modules/admin/admin.repository.ts'
import { userIdParamsSchema, type UserIdParams } from '../../modules/admin/admin.schemas.ts'
import {
  LAST_ADMIN_MESSAGE,
  LastAdminError,
  USER_NOT_FOUND_MESSAGE,
  type AdminService,
  type UserChanges,
} from '../../modules/admin/admin.service.ts'
import type { AccountsService } from '../../modules/accounts/accounts.service.ts'
import { MAX_IMPORT_ROWS } from '../../modules/accounts/import-users.csv.ts'
import type { PasswordResetService } from '../../modules/accounts/password-reset.service.ts'
import type { CatalogService } from '../../modules/catalog/catalog.service.ts'
import type { DoctorService } from '../../operations/doctor/doctor.service.ts'
import type { InvitationsService } from '../../modules/invitations/invitations.service.ts'
import { hasAccess } from '../../security/authz.ts'
import type { RequestUser } from '../../http/request-context.ts'
import { formValues, noteFormProblem } from '../forms.ts'
import { noReferrer, seeOther, type Pages } from '../page.ts'
import { signedIn } from '../../security/authz.ts'
import { invitationsSection } from './admin-invitations.routes.ts'

export interface AdminPagesOptions {
  pages: Pages
  admin: AdminService
  accounts: AccountsService
  resets: Pick<PasswordResetService, 'issueLink'>
  courses: CatalogService
  ebooks: CatalogService
  /** The readiness checks, shown to admins on /admin/readiness (CONTRACT §16). */
  readiness: DoctorService
  /** The invitations section (admin-invitations.routes.ts). */
  invitations: Pick<InvitationsService, 'pending'>
}

const ROLES: readonly Role[] = ['learner', 'instructor', 'admin']
const USERS_PER_PAGE = 20
const MAX_QUERY_CHARS = 254

interface AdminQuery {
  q?: string
  page?: string
}

function listQuery(req: FastifyRequest): { q: string; page: number } {
  const query = req.query as AdminQuery
  const q = typeof query.q === 'string' ? query.q.slice(0, MAX_QUERY_CHARS) : ''
  const page = Number.parseInt(typeof query.page === 'string' ? query.page : '1', 10)
  return { q, page: Number.isSafeInteger(page) && page >= 1 ? page : 1 }
}

/** Who did what to whom: the same admin_action line as the admin API writes. */
function adminAction(req: FastifyRequest, action: string, targetId: number, details: Record<string, unknown>) {
  securityEvent(req, 'admin_action', {
    action,
    actor_id: req.user?.id ?? null,
    target_id: targetId,
    via: 'page',
    ...details,
  })
}

/**
 * `/admin`: for admins, the users (search, role, disable, delete); for instructors and admins,
 * the catalogue with its drafts (the editor pages are in content-editor.routes.ts). Every change
 * goes through the admin service and is logged as admin_action, exactly as through the API;
 * the last active admin cannot be demoted, disabled or deleted (409, shown on the page).
 */
export async function adminPages(app: FastifyInstance, opts: AdminPagesOptions) {
  const { pages, admin, accounts, resets, courses, ebooks, readiness } = opts

  /** Each work's owners' usernames, and whether the viewer may change it (CONTRACT §12). */
  async function ownershipOf(catalog: CatalogService, works: ReadonlyArray<{ id: number }>, user: RequestUser) {
    const [owners, mine] = await Promise.all([
      catalog.owners.listFor(works.map((work) => work.id)),
      user.role === 'admin' ? null : catalog.owners.ownedBy(user.id),
    ])
    return Object.fromEntries(
      works.map((work) => [
        work.id,
        {
          owners: (owners.get(work.id) ?? []).map((owner) => owner.username),
          editable: mine === null || mine.has(work.id),
        },
      ]),
    )
  }

  async function overview(req: FastifyRequest, reply: FastifyReply, problem: string | null = null, status = 200) {
    const isAdmin = hasAccess(req.user, 'admin')
    const { q, page } = listQuery(req)
    const [users, courseList, ebookList, invitationsData] = await Promise.all([
      isAdmin ? admin.list({ query: q, page, perPage: USERS_PER_PAGE }) : null,
      courses.list(req.user),
      ebooks.list(req.user),
      isAdmin ? invitationsSection(opts.invitations) : null,
    ])
    const viewer = signedIn(req).user
    const ownership = await Promise.all([
      ownershipOf(courses, courseList, viewer),
      ownershipOf(ebooks, ebookList, viewer),
    ])
    const pageCount = users ? Math.max(1, Math.ceil(users.total / users.perPage)) : 1
    return pages.send(
      req,
      reply,
      'admin',
      {
        users,
        q,
        pageCount,
        roles: ROLES,
        courses: courseList,
        ebooks: ebookList,
        // Owners of each work, and which ones this user may edit (partials/admin-work-owners.eta).
        ownership: { courses: ownership[0], ebooks: ownership[1] },
        problem,
        selfId: signedIn(req).user.id,
        ...invitationsData,
        importMaxRows: MAX_IMPORT_ROWS,
      },
      { title: 'Admin', status },
    )
  }

  app.get('/admin', { config: { access: 'instructor', html: true } }, async (req, reply) => overview(req, reply))

  // The checks wait on the network (an SMTP relay that is down takes seconds), so they run on a
  // page of their own that /admin links to: the users and the catalogue never wait on them.
  app.get('/admin/readiness', { config: { access: 'admin', html: true } }, async (req, reply) => {
    const report = await readiness.report()
    // Paths, versions and account names of this installation: no cache along the way keeps them.
    reply.header('Cache-Control', 'no-store')
    return pages.send(req, reply, 'admin-readiness', { report }, { title: 'Readiness' })
  })

  /** The last active admin stays: the refusal is logged like any admin action and shown on the page (409). */
  function refusedLastAdmin(req: FastifyRequest, reply: FastifyReply, action: string, id: number, change: unknown) {
    adminAction(req, action, id, { change, outcome: 'refused', reason: 'last_admin' })
    noteFormProblem(req, LAST_ADMIN_MESSAGE, 'HttpError')
    return overview(req, reply, `${LAST_ADMIN_MESSAGE}.`, 409)
  }

  app.post<{ Params: UserIdParams }>(
    '/admin/users/:id',
    { config: { access: 'admin', html: true }, schema: { params: userIdParamsSchema } },
    async (req, reply) => {
      const { id } = req.params
      const values = formValues(req.body, ['role', 'status'])
      const changes: UserChanges = {}
      if ((ROLES as readonly string[]).includes(values.role!)) changes.role = values.role as Role
      if (values.status === 'active' || values.status === 'disabled') changes.disabled = values.status === 'disabled'
      if (Object.keys(changes).length === 0) {
        noteFormProblem(req, 'Nothing to change')
        return overview(req, reply, 'Choose a role or a status to change.', 400)
      }
      try {
        const { change, signedOut } = await admin.update(id, changes)
        adminAction(req, 'update_user', id, { change, outcome: 'done', signed_out: signedOut })
      } catch (error) {
        if (!(error instanceof LastAdminError)) throw error
        return refusedLastAdmin(req, reply, 'update_user', id, changes)
      }
      return seeOther(reply, '/admin', 'user-updated')
    },
  )

  // The API's one-time reset link (CONTRACT §10), for an admin to hand over where mail is not set
  // up; emailed to the account as well. Shown once, on a page that is never cached and sends no
  // Referer; logged without the link.
  app.post<{ Params: UserIdParams }>(
    '/admin/users/:id/password-reset',
    { config: { access: 'admin', html: true }, schema: { params: userIdParamsSchema }, onSend: noReferrer },
    async (req, reply) => {
      const user = await accounts.findUser(req.params.id)
      const link = user && (await resets.issueLink(user.id, 'admin'))
      if (!user || !link) throw notFound(USER_NOT_FOUND_MESSAGE)
      const expiresAt = new Date(link.expiresAt).toISOString()
      adminAction(req, 'password_reset_link', user.id, { outcome: 'done', expires_at: expiresAt })
      return pages.send(
        req,
        reply,
        'admin-reset-link',
        { user, url: link.url, expiresAt: `${expiresAt.slice(0, 16).replace('T', ' ')} UTC` },
        { title: `Reset link for ${user.username}`, status: 201 },
      )
    },
  )

  app.get<{ Params: UserIdParams }>(
    '/admin/users/:id/delete',
    { config: { access: 'admin', html: true }, schema: { params: userIdParamsSchema } },
    async (req, reply) => {
      const user = await accounts.findUser(req.params.id)
      if (!user) throw notFound(USER_NOT_FOUND_MESSAGE)
      return pages.send(
        req,
        reply,
        'confirm',
        {
          heading: `Delete ${user.username}?`,
          message: `The account of ${user.username} (${user.email}) and all of its progress will be deleted. This cannot be undone.`,
          action: `/admin/users/${user.id}/delete`,
          button: 'Delete the account',
          back: '/admin',
        },
        { title: `Delete ${user.username}` },
      )
    },
  )

  app.post<{ Params: UserIdParams }>(
    '/admin/users/:id/delete',
    { config: { access: 'admin', html: true }, schema: { params: userIdParamsSchema } },
    async (req, reply) => {
      const { id } = req.params
      try {
        const { user, signedOut } = await admin.remove(id)
        adminAction(req, 'delete_user', id, {
          change: { deleted: { username: user.username, role: user.role } },
          outcome: 'done',
          signed_out: signedOut,
        })
      } catch (error) {
        if (!(error instanceof LastAdminError)) throw error
        return refusedLastAdmin(req, reply, 'delete_user', id, { deleted: true })
      }
      return seeOther(reply, '/admin', 'user-deleted')
    },
  )
}
