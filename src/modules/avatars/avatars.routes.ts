import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFound } from '../../http/errors.ts'
import { AVATAR_FILE_NAME_PATTERN, AVATARS_PATH_PREFIX, avatarUrl } from './avatar-url.ts'
import { AVATAR_FIELD } from './avatars.service.ts'
import { createLingeringCloser, type LingerLimits } from '../../http/uploads/lingering-close.ts'
import {
  declaredTooLarge,
  maxBodyBytes,
  readFileUpload,
  UploadRefusedError,
  type UploadLimits,
} from '../../http/uploads/read-upload.ts'
import { uploadRejection, uploadsBusy } from './upload-rejections.ts'
import { prepareUploadScope } from '../../http/uploads/upload-scope.ts'
import type { UploadSlots } from '../../http/uploads/upload-slots.ts'
import { signedIn } from '../../security/authz.ts'
import type { AvatarsService } from './avatars.service.ts'
import { imageUploadBody } from '../../http/uploads/image-upload-body.ts'

export interface AvatarsRoutesOptions {
  avatars: AvatarsService
  /** MAX_UPLOAD_BYTES. */
  maxUploadBytes: number
  /** The uploads received or processed at once, shared with the profile page's form (src/services.ts). */
  uploadSlots: UploadSlots
  linger?: LingerLimits
}

export const UPLOAD_AVATAR_PATH = '/api/upload-avatar'

/** A year, and `immutable`: the URL names the bytes (avatar-url.ts), so they never change under it. */
export const CACHE_CURRENT_AVATAR = 'public, max-age=31536000, immutable'
/** An avatar is an image and nothing else: no script, no style, no frame, even if opened on its own. */
export const AVATAR_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

const uploadResponse = {
  200: {
    type: 'object',
    additionalProperties: false,
    required: ['avatar_url'],
    properties: { avatar_url: { type: 'string' } },
  },
} as const

const uploadBody = imageUploadBody('avatar')

const servingParams = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'file'],
  properties: { userId: { type: 'string' }, file: { type: 'string' } },
} as const

function parseUserId(text: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(text)) return null
  const id = Number(text)
  return Number.isSafeInteger(id) ? id : null
}

/** If-None-Match holds our ETag (weak comparison, RFC 9110 §13.1.2) or `*`. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((candidate) => {
    const tag = candidate.trim()
    return tag === '*' || tag.replace(/^W\//, '') === etag
  })
}

/**
 * CONTRACT §5, avatars: `POST /api/upload-avatar` and the avatar images themselves.
 *
 * Each upload is refused as early and cheaply as possible: session, CSRF header and rate limit
 * (onRequest, app-wide), then the declared Content-Length (preHandler), then the body streamed
 * under a byte limit with the CSRF field first (read-upload.ts), then the image checks of
 * src/images, cheapest first. A refused upload stores nothing and leaves the previous avatar.
 */
export async function avatarsRoutes(app: FastifyInstance, opts: AvatarsRoutesOptions) {
  const service = opts.avatars
  const limits: UploadLimits = { maxFileBytes: opts.maxUploadBytes }
  const slots = opts.uploadSlots
  const closer = createLingeringCloser(opts.linger)
  app.addHook('preClose', async () => closer.closeAll())

  await app.register(async (upload) => {
    await prepareUploadScope(upload, limits, closer)

    const releaseSlot = new WeakMap<FastifyRequest, () => void>()

    // After access control (401 first: a signed-out client learns nothing about limits).
    const refuseBeforeReading = async (req: FastifyRequest, reply: FastifyReply) => {
      if (declaredTooLarge(req, limits)) {
        const declared = `Content-Length ${String(req.headers['content-length'])} over ${maxBodyBytes(limits)} bytes`
        throw uploadRejection(req, new UploadRefusedError('too_large', 0, declared), null)
      }
      const release = slots.tryAcquire()
      if (release === null) throw uploadsBusy(req, slots.inUse)
      releaseSlot.set(req, release)
      reply.raw.once('close', release) // whatever happens next, the slot comes back
    }

    upload.post(
      UPLOAD_AVATAR_PATH,
      {
        config: { access: 'user', csrf: 'multipart', rateLimit: 'avatar', documentedBody: uploadBody },
        schema: { response: uploadResponse },
        preHandler: refuseBeforeReading,
      },
      async (req) => {
        let fileBytes: number | null = null
        try {
          const file = await readFileUpload(req, limits, AVATAR_FIELD)
          fileBytes = file.length
          const stored = await service.replace(signedIn(req).user.id, file)
          app.metrics.imageAccepted()
          return { avatar_url: stored.url }
        } catch (error) {
          throw uploadRejection(req, error, fileBytes)
        } finally {
          releaseSlot.get(req)?.()
        }
      },
    )
  })

  app.get<{ Params: { userId: string; file: string } }>(
    `${AVATARS_PATH_PREFIX}/:userId/:file`,
    { config: { access: 'public' }, schema: { params: servingParams } },
    async (req, reply) => {
      const userId = parseUserId(req.params.userId)
      if (userId === null || !AVATAR_FILE_NAME_PATTERN.test(req.params.file)) throw notFound()
      const avatar = await service.forServing(userId)
      if (!avatar) throw notFound()
      if (req.params.file !== avatar.file_name) {
        // Only a name this user's avatar really had: redirecting any well-formed name would
        // tell who has an avatar, so every other name is the 404 of an unknown user.
        if (!(await service.wasStoredAs(userId, req.params.file))) throw notFound()
        // An earlier avatar's URL (a page rendered before the change): send the current one.
        // Not cached, since the next upload moves it again.
        return reply
          .code(302)
          .header('Location', avatarUrl(userId, avatar.file_name))
          .header('Cache-Control', 'no-cache')
          .send()
      }
      const etag = `"${avatar.sha256}"`
      reply
        .header('ETag', etag)
        .header('Cache-Control', CACHE_CURRENT_AVATAR)
        .header('X-Content-Type-Options', 'nosniff')
        .header('Content-Security-Policy', AVATAR_CSP)
        .header('Content-Disposition', 'inline')
      if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) return reply.code(304).send()
      return reply.type(avatar.content_type).send(avatar.data)
    },
  )
}
