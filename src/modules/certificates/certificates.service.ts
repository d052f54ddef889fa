import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { notFound } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import { createCertificatesRepository, type CertificateRow } from './certificates.repository.ts'

export const CERTIFICATE_NOT_FOUND_MESSAGE = 'Certificate not found'

/** The certificate's public verification address: PUBLIC_URL, never the request's Host. */
export function certificateUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/certificates/${id}`
}

/** `{id, course: {slug, title}, issued_at, url}` of CONTRACT §12, from the copies taken at issue. */
export function presentCertificate(row: CertificateRow, publicUrl: string) {
  return {
    id: row.id,
    course: { slug: row.course_slug, title: row.course_title },
    issued_at: new Date(row.issued_at).toISOString(),
    url: certificateUrl(publicUrl, row.id),
  }
}

/** Reading certificates: the learner's own, and any one by its id (the public verification page). */
export function createCertificatesService(deps: { db: Kysely<Database>; publicUrl: string }) {
  const repository = createCertificatesRepository(deps.db)
  return {
    publicUrl: deps.publicUrl,
    mine(viewer: RequestUser): Promise<CertificateRow[]> {
      return repository.listForUser(viewer.id)
    },
    async verify(id: string): Promise<CertificateRow> {
      const row = await repository.find(id)
      if (!row) throw notFound(CERTIFICATE_NOT_FOUND_MESSAGE)
      return row
    },
  }
}

export type CertificatesService = ReturnType<typeof createCertificatesService>
