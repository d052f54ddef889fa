import type { FastifyInstance } from 'fastify'
import { notFound } from '../../http/errors.ts'
import type { AccountsService } from '../accounts/accounts.service.ts'
import { adminAction } from '../admin/admin.routes.ts'
import { userIdParamsSchema, type UserIdParams } from '../admin/admin.schemas.ts'
import { USER_NOT_FOUND_MESSAGE } from '../admin/admin.service.ts'
import type { TwoFactorService } from './two-factor.service.ts'

export interface TwoFactorAdminRoutesOptions {
  twoFactor: Pick<TwoFactorService, 'removeAllFactors'>
  accounts: Pick<AccountsService, 'findUser'>
}

/**
 * CONTRACT §11: an admin removes every second factor of an account (a lost phone) and ends its
 * sessions; the owner signs in with the password and sets a factor up again.
 */
export async function twoFactorAdminRoutes(app: FastifyInstance, opts: TwoFactorAdminRoutesOptions) {
  app.delete<{ Params: UserIdParams }>(
    '/users/:id/2fa',
    { config: { access: 'admin' }, schema: { params: userIdParamsSchema } },
    async (req, reply) => {
      const { id } = req.params
      if (!(await opts.accounts.findUser(id))) throw notFound(USER_NOT_FOUND_MESSAGE)
      const { removed, signedOut } = await opts.twoFactor.removeAllFactors(id)
      adminAction(req, 'remove_second_factors', id, { outcome: 'done', removed, signed_out: signedOut })
      return reply.code(204).send()
    },
  )
}
