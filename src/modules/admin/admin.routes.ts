import type { FastifyInstance, FastifyRequest } from 'fastify'
import { conflict } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import { presentUserForAdmin } from './admin.presenter.ts'
import {
  listUsersQuerySchema,
  updateUserBodySchema,
  userIdParamsSchema,
  userListResponseSchema,
  userResponseSchema,
  type ListUsersQuery,
  type UpdateUserBody,
  type UserIdParams,
} from './admin.schemas.ts'
import { LastAdminError } from './admin.service.ts'
import type { AdminService } from './admin.service.ts'

export interface AdminRoutesOptions {
  admin: AdminService
}

/** Who did what to whom: every admin action, refused ones included, is an admin_action line. */
function adminAction(req: FastifyRequest, action: string, targetId: number, details: Record<string, unknown>) {
  securityEvent(req, 'admin_action', { action, actor_id: req.user?.id ?? null, target_id: targetId, ...details })
}

/** CONTRACT §5 "Admin": users listed, changed, disabled, deleted. Every route needs the admin role. */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions) {
  const service = opts.admin
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
      return { users: users.map(presentUserForAdmin), total, page, per_page: perPage }
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
      return { user: presentUserForAdmin(user) }
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
