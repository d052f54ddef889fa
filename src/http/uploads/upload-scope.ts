import multipart from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'
import { bodyStillArriving, type LingeringCloser } from './lingering-close.ts'
import { multipartLimits, type UploadLimits } from './read-upload.ts'

/**
 * Prepares a plugin scope for a multipart upload route (the API's and the profile page's):
 * multipart parsing exists here and nowhere else, no other parser may read a body first (a
 * JSON body is not parsed: it has no file), and any refusal sent while the body is still
 * arriving closes the connection gracefully, so the client sees the answer, not a reset.
 */
export async function prepareUploadScope(upload: FastifyInstance, limits: UploadLimits, closer: LingeringCloser) {
  upload.removeAllContentTypeParsers()
  await upload.register(multipart, { limits: multipartLimits(limits) })
  upload.addContentTypeParser('*', (_req, _payload, done) => done(null))
  upload.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode >= 400 && bodyStillArriving(req.raw)) {
      reply.header('Connection', 'close')
      closer.arm(req.raw)
    }
    return payload
  })
}
