import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../../http/errors.ts'
import { createLingeringCloser } from '../../http/uploads/lingering-close.ts'
import { readFileUpload, type UploadLimits } from '../../http/uploads/read-upload.ts'
import { prepareUploadScope } from '../../http/uploads/upload-scope.ts'
import type { UploadSlots } from '../../http/uploads/upload-slots.ts'
import type { RequestUser } from '../../http/request-context.ts'
import { uploadRejection } from '../../modules/avatars/upload-rejections.ts'
import { logMediaUploaded, mediaUploadGuard, uploadAdmission } from '../../modules/media/media.routes.ts'
import { MEDIA_FIELD, type MediaService } from '../../modules/media/media.service.ts'
import { signedIn } from '../../security/authz.ts'
import { emptyForm, noteFormProblem, type FormState } from '../forms.ts'
import type { Pages } from '../page.ts'
import { sizeLabel } from './profile.routes.ts'

export interface MediaPagesOptions {
  pages: Pages
  media: MediaService
  mayUpload: (user: RequestUser) => Promise<boolean>
  maxUploadBytes: number
  uploadSlots: UploadSlots
  imageAccepted(): void
}

/** Alt text is a sentence, not an essay (and busboy's field limit is 1 KiB). */
export const ALT_MAX_CHARS = 250
const ALT_REQUIRED = 'Describe the picture: readers who cannot see it get this text instead.'

/** `![alt](url)` with the alt text's Markdown-special brackets and backslashes escaped, on one line. */
export function imageSnippet(alt: string, url: string): string {
  const text = alt
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\[\]]/g, '\\$&')
  return `![${text}](${url})`
}

/**
 * `/admin/media`: the editor's image upload, without JavaScript. The form (alt text required,
 * then the file) posts to the same checks as POST /api/media; the page that answers shows the
 * Markdown line to paste into a lesson, and the image as readers will see it.
 */
export async function mediaPages(app: FastifyInstance, opts: MediaPagesOptions) {
  const { pages, media } = opts
  const limits: UploadLimits = { maxFileBytes: opts.maxUploadBytes }
  const guard = mediaUploadGuard(opts.mayUpload)
  const uploader = { access: 'instructor', html: true } as const

  function mediaPage(
    req: FastifyRequest,
    reply: FastifyReply,
    state: { form?: FormState; uploaded?: { url: string; alt: string; snippet: string } } = {},
    status = 200,
  ) {
    return pages.send(
      req,
      reply,
      'admin-media',
      {
        form: state.form ?? emptyForm(),
        uploaded: state.uploaded ?? null,
        maxUploadSize: sizeLabel(opts.maxUploadBytes),
        altMaxChars: ALT_MAX_CHARS,
      },
      { title: 'Add an image', status, forms: true },
    )
  }

  const problem = (
    req: FastifyRequest,
    reply: FastifyReply,
    field: 'alt' | 'file',
    message: string,
    status: number,
  ) => {
    noteFormProblem(req, message, 'HttpError')
    return mediaPage(req, reply, { form: { values: {}, errors: { [field]: message }, formError: null } }, status)
  }

  app.get('/admin/media', { config: uploader, onRequest: guard }, async (req, reply) => mediaPage(req, reply))

  const closer = createLingeringCloser()
  app.addHook('preClose', async () => closer.closeAll())
  await app.register(async (upload) => {
    await prepareUploadScope(upload, limits, closer)
    upload.post(
      '/admin/media',
      {
        config: {
          ...uploader,
          // The same per-user policy as POST /api/media, counted together.
          rateLimit: 'media',
          csrf: 'multipart',
          redisplayForm: (req, reply, p) => problem(req, reply, 'file', p.message, p.status),
        },
        onRequest: guard,
        preHandler: uploadAdmission(limits, opts.uploadSlots),
      },
      async (req, reply) => {
        let fileBytes: number | null = null
        const fields: Record<string, string> = Object.create(null) as Record<string, string>
        try {
          const file = await readFileUpload(req, limits, MEDIA_FIELD, fields)
          fileBytes = file.length
          const alt = (fields.alt ?? '').replace(/\s+/g, ' ').trim()
          // Checked before the image is processed or stored: a picture without words is not kept.
          if (alt === '') return await problem(req, reply, 'alt', ALT_REQUIRED, 400)
          if (alt.length > ALT_MAX_CHARS) {
            return await problem(req, reply, 'alt', `At most ${ALT_MAX_CHARS} characters.`, 400)
          }
          const stored = await media.store(file, signedIn(req).user.id)
          opts.imageAccepted()
          logMediaUploaded(req, stored, file.length, 'page')
          return await mediaPage(req, reply, {
            uploaded: { url: stored.url, alt, snippet: imageSnippet(alt, stored.url) },
          })
        } catch (error) {
          const refusal = uploadRejection(req, error, fileBytes)
          if (refusal instanceof HttpError && (refusal.statusCode === 400 || refusal.statusCode === 413)) {
            reply.headers(refusal.headers)
            return problem(req, reply, 'file', refusal.publicMessage, refusal.statusCode)
          }
          throw refusal
        }
      },
    )
  })
}
