import type { FastifyInstance } from 'fastify'
import { badRequest } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import { slugParamsSchema, type SlugParams } from '../../modules/catalog/catalog.schemas.ts'
import type { CatalogService } from '../../modules/catalog/catalog.service.ts'
import { signedIn } from '../../security/authz.ts'
import { formValues } from '../forms.ts'
import { seeOther } from '../page.ts'

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/

/**
 * The owners form of /admin (partials/admin-work-owners.eta): an admin names a course's or an
 * ebook's owners, usernames separated by commas or spaces; an empty field leaves it without one.
 * The same service and admin_action line as PATCH /api/courses/:slug {"owners"}.
 */
export async function ownersPages(app: FastifyInstance, opts: { catalog: CatalogService }) {
  const { catalog } = opts
  app.post<{ Params: SlugParams }>(
    `/admin/${catalog.kind}s/:slug/owners`,
    { config: { access: 'admin', html: true }, schema: { params: slugParamsSchema } },
    async (req, reply) => {
      const raw = formValues(req.body, ['owners']).owners ?? ''
      const usernames = raw.split(/[\s,]+/).filter((name) => name !== '')
      const malformed = usernames.find((name) => !USERNAME.test(name))
      if (malformed !== undefined) throw badRequest(`Unknown username: ${malformed.slice(0, 40)}`)
      const { work } = await catalog.get(req.params.slug, req.user)
      const named = await catalog.owners.setOwners(work, usernames)
      securityEvent(req, 'admin_action', {
        action: 'set_owners',
        actor_id: signedIn(req).user.id,
        kind: catalog.kind,
        work_id: work.id,
        owners: named.map((owner) => owner.username),
        via: 'page',
      })
      return seeOther(reply, '/admin', 'content-updated')
    },
  )
}
