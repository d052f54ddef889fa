import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { forbidden, notFound } from '../../http/errors.ts'
import { requestEvent, securityEvent, type RequestUser } from '../../http/request-context.ts'
import { createLingeringCloser, type LingerLimits } from '../../http/uploads/lingering-close.ts'
import {
  declaredTooLarge,
  maxBodyBytes,
  readFileUpload,
  UploadRefusedError,
  type UploadLimits,
} from '../../http/uploads/read-upload.ts'
import { prepareUploadScope } from '../../http/uploads/upload-scope.ts'
import type { UploadSlots } from '../../http/uploads/upload-slots.ts'
import { signedIn } from '../../security/authz.ts'
import { AVATAR_CSP, CACHE_CURRENT_AVATAR, matchesIfNoneMatch } from '../avatars/avatars.routes.ts'
import { uploadRejection, uploadsBusy } from '../avatars/upload-rejections.ts'
import { MEDIA_PATH_PREFIX, parseMediaFileName } from './media-url.ts'
import { MEDIA_FIELD, type MediaService, type StoredMedia } from './media.service.ts'
import { imageUploadBody } from '../../http/uploads/image-upload-body.ts'

export interface MediaRoutesOptions {
  media: MediaService
  /** Whether this user may upload lesson media: admins, and instructors who own a course or an ebook. */
  mayUpload: (user: RequestUser) => Promise<boolean>
  maxUploadBytes: number
  uploadSlots: UploadSlots
  linger?: LingerLimits
}

export const UPLOAD_MEDIA_PATH = '/api/media'

const uploadResponse = {
  201: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string' } } },
} as const

const uploadBody = imageUploadBody('file')

const servingParams = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: { file: { type: 'string' } },
} as const

/** The `media_uploaded` line: what was stored, never a byte of it. */
export function logMediaUploaded(req: FastifyRequest, stored: StoredMedia, bytes: number, via: 'api' | 'page') {
  securityEvent(req, 'media_uploaded', {
    sha256: stored.sha256,
    content_type: stored.image.contentType,
    width: stored.image.width,
    height: stored.image.height,
    bytes,
    via,
  })
}

/**
 * The route-level onRequest check of who may upload lesson media, before any body byte is read:
 * an instructor who owns nothing gets 403, logged permission_denied.
 */
export function mediaUploadGuard(mayUpload: MediaRoutesOptions['mayUpload']) {
  return async (req: FastifyRequest) => {
    if (req.user === null || (await mayUpload(req.user))) return
    requestEvent(req, 'warning', 'permission_denied', {
      extra: { required: 'owner', role: req.user.role, route: req.routeOptions.url },
    })
    throw forbidden()
  }
}

/** Refuses an announced oversize and takes an upload slot, before the body is read. */
export function uploadAdmission(limits: UploadLimits, slots: UploadSlots) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (declaredTooLarge(req, limits)) {
      const declared = `Content-Length ${String(req.headers['content-length'])} over ${maxBodyBytes(limits)} bytes`
      throw uploadRejection(req, new UploadRefusedError('too_large', 0, declared), null)
    }
    const release = slots.tryAcquire()
    if (release === null) throw uploadsBusy(req, slots.inUse)
    reply.raw.once('close', release) // whatever happens next, the slot comes back
  }
}

/** Serves stored bytes the way avatars are: real type, nosniff, a sandboxing CSP, immutable caching. */
async function serveMedia(media: MediaService, fileName: string, req: FastifyRequest, reply: FastifyReply) {
  const named = parseMediaFileName(fileName)
  if (!named) throw notFound()
  const stored = await media.forServing(named.sha256)
  // The extension must be the stored type's: one URL per image, never a second spelling of it.
  if (!stored || stored.content_type !== named.contentType) throw notFound()
  const etag = `"${stored.sha256}"`
  reply
    .header('ETag', etag)
    .header('Cache-Control', CACHE_CURRENT_AVATAR)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Content-Security-Policy', AVATAR_CSP)
    .header('Content-Disposition', 'inline')
  if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) return reply.code(304).send()
  return reply.type(stored.content_type).send(stored.data)
}

/**
 * CONTRACT §12, lesson media: `POST /api/media` (admins, and instructors who own something) and
 * `GET /media/<id>.<ext>`. An upload is refused as early as an avatar is (session, CSRF, role and
 * rate limit in onRequest; ownership; the declared length; the streamed body; the image checks),
 * with the same messages, and stores only re-encoded bytes.
 */
export async function mediaRoutes(app: FastifyInstance, opts: MediaRoutesOptions) {
  const { media } = opts
  const limits: UploadLimits = { maxFileBytes: opts.maxUploadBytes }
  const closer = createLingeringCloser(opts.linger)
  app.addHook('preClose', async () => closer.closeAll())

  await app.register(async (upload) => {
    await prepareUploadScope(upload, limits, closer)
    upload.post(
      UPLOAD_MEDIA_PATH,
      {
        config: { access: 'instructor', csrf: 'multipart', rateLimit: 'media', documentedBody: uploadBody },
        onRequest: mediaUploadGuard(opts.mayUpload),
        schema: { response: uploadResponse },
        preHandler: uploadAdmission(limits, opts.uploadSlots),
      },
      async (req, reply) => {
        let fileBytes: number | null = null
        try {
          const file = await readFileUpload(req, limits, MEDIA_FIELD)
          fileBytes = file.length
          const stored = await media.store(file, signedIn(req).user.id)
          app.metrics.imageAccepted()
          logMediaUploaded(req, stored, file.length, 'api')
          return reply.code(201).send({ url: stored.url })
        } catch (error) {
          throw uploadRejection(req, error, fileBytes)
        }
      },
    )
  })

  app.get<{ Params: { file: string } }>(
    `${MEDIA_PATH_PREFIX}/:file`,
    { config: { access: 'public' }, schema: { params: servingParams } },
    async (req, reply) => serveMedia(media, req.params.file, req, reply),
  )
}
