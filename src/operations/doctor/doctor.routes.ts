import type { FastifyInstance } from 'fastify'
import type { DoctorService } from './doctor.service.ts'
import { doctorReportSchema } from './doctor.schemas.ts'

export interface DoctorRoutesOptions {
  doctor: DoctorService
}

/** CONTRACT §16: GET /api/admin/doctor (admin) → the readiness findings of the running server. */
export async function doctorRoutes(app: FastifyInstance, opts: DoctorRoutesOptions) {
  app.get(
    '/doctor',
    { config: { access: 'admin' }, schema: { response: { 200: doctorReportSchema } } },
    async (_req, reply) => {
      // Paths, versions and account names of this installation: no cache along the way keeps them.
      reply.header('Cache-Control', 'no-store')
      return opts.doctor.report()
    },
  )
}
