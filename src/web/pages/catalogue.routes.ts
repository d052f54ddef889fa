import type { FastifyInstance } from 'fastify'
import type { AccountsService } from '../../modules/accounts/accounts.service.ts'
import type { CatalogService } from '../../modules/catalog/catalog.service.ts'
import type { CoursesService } from '../../modules/courses/courses.service.ts'
import type { ReadingService } from '../../modules/progress/reading.service.ts'
import type { CertificatesService } from '../../modules/certificates/certificates.service.ts'
import type { Pages } from '../page.ts'
import { CREATE_ADMIN_COMMAND } from '../../modules/accounts/first-admin.ts'
import { signedIn } from '../../security/authz.ts'

export interface CataloguePagesOptions {
  pages: Pages
  accounts: AccountsService
  courses: CoursesService
  ebooks: CatalogService
  reading: ReadingService
  certificates: CertificatesService
}

/**
 * `/`, the catalogue (published courses and ebooks; drafts too for staff, marked as such), and
 * `/me`, the learner's dashboard: their courses with progress and the ebooks they are reading.
 */
export async function cataloguePages(app: FastifyInstance, opts: CataloguePagesOptions) {
  const { pages, courses, ebooks, reading, accounts, certificates } = opts

  app.get('/', { config: { access: 'public', html: true } }, async (req, reply) => {
    const [courseList, ebookList, hasAdmin, read] = await Promise.all([
      courses.catalog.list(req.user),
      ebooks.list(req.user),
      accounts.hasAdmin(),
      req.user ? reading.mine(req.user) : [],
    ])
    // The chapter to resume each ebook the reader has started at, for its card.
    const resume = new Map(read.map(({ work, position }) => [work.id, position.chapter]))
    // A fresh installation: whoever set it up learns where the first admin comes from (CONTRACT §15).
    const firstRun = hasAdmin ? null : { command: CREATE_ADMIN_COMMAND }
    return pages.send(
      req,
      reply,
      'catalogue',
      { courses: courseList, ebooks: ebookList, firstRun, resume },
      { title: 'Catalogue' },
    )
  })

  app.get('/me', { config: { access: 'user', html: true } }, async (req, reply) => {
    const viewer = signedIn(req).user
    const [user, enrolled, read, certified] = await Promise.all([
      accounts.findUser(viewer.id),
      courses.mine(viewer),
      reading.mine(viewer),
      certificates.mine(viewer),
    ])
    return pages.send(
      req,
      reply,
      'dashboard',
      {
        name: user?.display_name || user?.username || '',
        courses: enrolled,
        ebooks: read,
        certificates: certified.map((row) => ({
          id: row.id,
          courseTitle: row.course_title,
          issuedOn: new Date(row.issued_at).toISOString().slice(0, 10),
        })),
      },
      { title: 'My learning' },
    )
  })
}
