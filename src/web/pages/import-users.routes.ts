import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../../http/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import { createLingeringCloser } from '../../http/uploads/lingering-close.ts'
import { declaredTooLarge, readFileUpload, UploadRefusedError } from '../../http/uploads/read-upload.ts'
import { prepareUploadScope } from '../../http/uploads/upload-scope.ts'
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from '../../modules/accounts/import-users.csv.ts'
import type { ImportUsersService } from '../../modules/accounts/import-users.service.ts'
import { uploadRejection } from '../../modules/avatars/upload-rejections.ts'
import { noteFormProblem } from '../forms.ts'
import { noReferrer, type Pages } from '../page.ts'

/** The form's file field. */
export const IMPORT_USERS_FIELD = 'accounts'

export interface ImportUsersPagesOptions {
  pages: Pages
  imports: ImportUsersService
}

const limits = { maxFileBytes: MAX_IMPORT_BYTES }

/**
 * `POST /admin/import-users`: the /admin upload of import-users (CONTRACT §15), the same file and
 * the same all-or-nothing import as the command line. The result page shows how many accounts
 * were made, or every problem with its line; the links only when the admin asked for them (the
 * second submit button, `?links=1`), on a page never cached and sending no Referer.
 */
export async function importUsersPages(app: FastifyInstance, opts: ImportUsersPagesOptions) {
  const { pages, imports } = opts
  const closer = createLingeringCloser()
  app.addHook('preClose', async () => closer.closeAll())

  const result = (req: FastifyRequest, reply: FastifyReply, data: object, status: number) =>
    pages.send(
      req,
      reply,
      'admin-import-users',
      { problems: [], created: null, links: null, maxRows: MAX_IMPORT_ROWS, ...data },
      { title: 'Import accounts', status },
    )

  const refused = (req: FastifyRequest, reply: FastifyReply, error: unknown) => {
    const refusal = uploadRejection(req, error, null)
    if (!(refusal instanceof HttpError) || (refusal.statusCode !== 400 && refusal.statusCode !== 413)) throw refusal
    noteFormProblem(req, refusal.publicMessage, 'HttpError')
    reply.headers(refusal.headers)
    return result(req, reply, { problems: [refusal.publicMessage] }, refusal.statusCode)
  }

  await app.register(async (upload) => {
    await prepareUploadScope(upload, limits, closer)
    upload.post(
      '/admin/import-users',
      {
        config: {
          access: 'admin',
          html: true,
          // csrf_token is the form's first field, checked before any byte of the file is read.
          csrf: 'multipart',
          redisplayForm: (req, reply, problem) => result(req, reply, { problems: [problem.message] }, problem.status),
        },
        onSend: noReferrer,
        preHandler: async (req, reply) => {
          if (!declaredTooLarge(req, limits)) return
          const detail = `Content-Length ${String(req.headers['content-length'])} over the import limit`
          return refused(req, reply, new UploadRefusedError('too_large', 0, detail))
        },
      },
      async (req, reply) => {
        let file: Buffer
        try {
          file = await readFileUpload(req, limits, IMPORT_USERS_FIELD)
        } catch (error) {
          return refused(req, reply, error)
        }
        const showLinks = (req.query as { links?: unknown }).links === '1'
        const outcome = await imports.importCsv(file)
        const actor = req.user?.id ?? null
        if (!outcome.ok) {
          securityEvent(req, 'admin_action', {
            action: 'import_users',
            actor_id: actor,
            target_id: null,
            via: 'page',
            outcome: 'refused',
            problems: outcome.problems.length,
          })
          noteFormProblem(req, 'Import refused', 'HttpError')
          return result(req, reply, { problems: outcome.problems }, 400)
        }
        // One line per account, as for any admin action on one (never its link).
        for (const account of outcome.created) {
          securityEvent(req, 'admin_action', {
            action: 'import_user',
            actor_id: actor,
            target_id: account.userId,
            via: 'page',
            outcome: 'done',
          })
        }
        return result(req, reply, { created: outcome.created.length, links: showLinks ? outcome.created : null }, 201)
      },
    )
  })
}
