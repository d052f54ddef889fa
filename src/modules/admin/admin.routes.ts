import type { FastifyInstance, FastifyRequest } from 'fastify'
import { conflict, notFound } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { UserRecord } from '../accounts/accounts.repository.ts'
import { presentUserForAdmin } from './admin.presenter.ts'
import {
  listUsersQuerySchema,
  passwordResetLinkSchema,
  updateUserBodySchema,
  userIdParamsSchema,
  userListResponseSchema,
  userResponseSchema,
  type ListUsersQuery,
  type UpdateUserBody,
  type UserIdParams,
} from './admin.schemas.ts'
import type { PasswordResetService } from '../accounts/password-reset.service.ts'
import type { SecondFactors } from '../two-factor/second-factors.ts'
import { LastAdminError, USER_NOT_FOUND_MESSAGE } from './admin.service.ts'
import type { AdminService } from './admin.service.ts'

export interface AdminRoutesOptions {
  admin: AdminService
  resets: Pick<PasswordResetService, 'issueLink'>
  secondFactors: Pick<SecondFactors, 'enabled'>
}

/** Who did what to whom: every admin action, refused ones included, is an admin_action line. */
export function adminAction(req: FastifyRequest, action: string, targetId: number, details: Record<string, unknown>) {
  securityEvent(req, 'admin_action', { action, actor_id: req.user?.id ?? null, target_id: targetId, ...details })
}

/** CONTRACT §5 "Admin": users listed, changed, disabled, deleted. Every route needs the admin role. */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions) {
  const service = opts.admin
  const present = async (user: UserRecord) => presentUserForAdmin(user, await opts.secondFactors.enabled(user.id))
  const admin = { access: 'admin' } as const

  /** A refused last-admin change is logged like any other admin action, then answered 409. */
  async function guarded<T>(
    req: FastifyRequest,
    action: string,
    targetId: number,
    change: unknown,
    work: () => Promise<T>,
  ) {
    try {
      return await work()
    } catch (error) {
      if (!(error instanceof LastAdminError)) throw error
      adminAction(req, action, targetId, { change, outcome: 'refused', reason: 'last_admin' })
      throw conflict(error.message)
    }
  }

  app.get<{ Querystring: ListUsersQuery }>(
    '/users',
    { config: admin, schema: { querystring: listUsersQuerySchema, response: { 200: userListResponseSchema } } },
    async (req) => {
      const { users, total, page, perPage } = await service.list({
        query: req.query.q,
        page: req.query.page,
        perPage: req.query.per_page,
      })
      return { users: await Promise.all(users.map(present)), total, page, per_page: perPage }
    },
  )

  app.patch<{ Params: UserIdParams; Body: UpdateUserBody }>(
    '/users/:id',
    {
      config: admin,
      schema: { params: userIdParamsSchema, body: updateUserBodySchema, response: { 200: userResponseSchema } },
    },
    async (req) => {
      const { id } = req.params
      const { user, change, signedOut } = await guarded(req, 'update_user', id, req.body, () =>
        service.update(id, req.body),
      )
      adminAction(req, 'update_user', id, { change, outcome: 'done', signed_out: signedOut })
      return { user: await present(user) }
    },
  )

  // CONTRACT §10: a one-time link for the admin to hand over when mail is not set up; it is
  // emailed to the account as well. The link is in the answer only, never in the log line.
  app.post<{ Params: UserIdParams }>(
    '/users/:id/password-reset',
    { config: admin, schema: { params: userIdParamsSchema, response: { 201: passwordResetLinkSchema } } },
    async (req, reply) => {
      const { id } = req.params
      const link = await opts.resets.issueLink(id, 'admin')
      if (!link) throw notFound(USER_NOT_FOUND_MESSAGE)
      const expiresAt = new Date(link.expiresAt).toISOString()
      adminAction(req, 'password_reset_link', id, { outcome: 'done', expires_at: expiresAt })
      return reply.code(201).send({ reset_url: link.url, expires_at: expiresAt })
    },
  )

  app.delete<{ Params: UserIdParams }>(
    '/users/:id',
    { config: admin, schema: { params: userIdParamsSchema } },
    async (req, reply) => {
      const { id } = req.params
      const { user, signedOut } = await guarded(req, 'delete_user', id, { deleted: true }, () => service.remove(id))
      adminAction(req, 'delete_user', id, {
        change: { deleted: { username: user.username, role: user.role } },
        outcome: 'done',
        signed_out: signedOut,
      })
      return reply.code(204).send()
    },
  )
}
