import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AccountsService } from '../../modules/accounts/accounts.service.ts'
import { renderCertificatePdf } from '../../modules/certificates/certificate-pdf.ts'
import { certificateUrl, type CertificatesService } from '../../modules/certificates/certificates.service.ts'
import { noReferrer, type Pages } from '../page.ts'

export interface CertificatePagesOptions {
  pages: Pages
  certificates: CertificatesService
  accounts: AccountsService
}

const PDF_SUFFIX = '.pdf'

/** Kept out of search engines: a certificate is for whoever is given its address, not for finding people. */
const noIndex = (reply: FastifyReply) => reply.header('X-Robots-Tag', 'noindex, nofollow')

/**
 * `/certificates/<id>` and `/certificates/<id>.pdf` (CONTRACT §12): anyone with the address can
 * verify a certificate, signed in or not. The id is at least 128 random bits, so addresses cannot
 * be guessed; an unknown one is the same 404 as a malformed one.
 */
export async function certificatePages(app: FastifyInstance, opts: CertificatePagesOptions) {
  const { pages, certificates, accounts } = opts

  app.get<{ Params: { file: string } }>(
    '/certificates/:file',
    {
      config: { access: 'public', html: true },
      // The address is what lets anyone read the learner's name: no Referer takes it elsewhere.
      onSend: noReferrer,
      schema: {
        params: { type: 'object', required: ['file'], properties: { file: { type: 'string', maxLength: 200 } } },
      },
    },
    async (req, reply) => {
      noIndex(reply)
      const { file } = req.params
      const pdf = file.endsWith(PDF_SUFFIX)
      const row = await certificates.verify(pdf ? file.slice(0, -PDF_SUFFIX.length) : file)
      const url = certificateUrl(certificates.publicUrl, row.id)
      if (pdf) {
        const username = (await accounts.findUser(row.user_id))?.username ?? 'the learner named at the address below'
        const bytes = await renderCertificatePdf(row, { url, username })
        return reply
          .header('Cache-Control', 'no-store')
          .header('Content-Disposition', `inline; filename="certificate-${row.course_slug}.pdf"`)
          .type('application/pdf')
          .send(bytes)
      }
      return pages.send(
        req,
        reply,
        'certificate',
        {
          certificate: row,
          issuedOn: new Date(row.issued_at).toISOString().slice(0, 10),
          url,
          pdfUrl: `/certificates/${row.id}${PDF_SUFFIX}`,
          noindex: true,
        },
        { title: `Certificate: ${row.course_title}` },
      )
    },
  )
}
