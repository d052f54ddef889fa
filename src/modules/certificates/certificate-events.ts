import type { FastifyRequest } from 'fastify'
import { requestEvent } from '../../http/request-context.ts'
import type { CertificateRow } from './certificates.repository.ts'

/**
 * One `certificate_issued` line when a request issued a certificate. The certificate's id is not
 * logged: it is the learner's to share, and logs are read by more people than certificates are.
 */
export function logCertificateIssued(req: FastifyRequest, certificate: CertificateRow | null): void {
  if (certificate) requestEvent(req, 'info', 'certificate_issued', { extra: { course_id: certificate.course_id } })
}
