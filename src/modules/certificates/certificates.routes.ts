import type { FastifyInstance } from 'fastify'
import { signedIn } from '../../security/authz.ts'
import { presentCertificate, type CertificatesService } from './certificates.service.ts'

const certificateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'course', 'issued_at', 'url'],
  properties: {
    id: { type: 'string' },
    course: {
      type: 'object',
      additionalProperties: false,
      required: ['slug', 'title'],
      properties: { slug: { type: 'string' }, title: { type: 'string' } },
    },
    issued_at: { type: 'string' },
    url: { type: 'string' },
  },
} as const

/** GET /api/me/certificates (CONTRACT §12): the caller's certificates, oldest first. */
export async function certificatesRoutes(app: FastifyInstance, opts: { certificates: CertificatesService }) {
  const { certificates } = opts
  app.get(
    '/me/certificates',
    {
      config: { access: 'user' },
      schema: {
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['certificates'],
            properties: { certificates: { type: 'array', items: certificateSchema } },
          },
        },
      },
    },
    async (req) => ({
      certificates: (await certificates.mine(signedIn(req).user)).map((row) =>
        presentCertificate(row, certificates.publicUrl),
      ),
    }),
  )
}
