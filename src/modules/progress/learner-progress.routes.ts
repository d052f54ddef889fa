import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Clock } from '../../lib/clock.ts'
import { presentEnrolledCourse } from '../courses/courses.presenter.ts'
import { enrolledCourseSchema } from '../courses/courses.schemas.ts'
import { createCoursesService } from '../courses/courses.service.ts'
import { presentReadEbook } from '../ebooks/ebooks.presenter.ts'
import { readEbookSchema } from '../ebooks/ebooks.schemas.ts'
import { createReadingService } from './reading.service.ts'
import { createCatalogService } from '../catalog/catalog.service.ts'

const myProgressResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['courses', 'ebooks'],
  properties: {
    courses: { type: 'array', items: enrolledCourseSchema },
    ebooks: { type: 'array', items: readEbookSchema },
  },
} as const

/** GET /api/me/progress: the caller's courses (with completion) and ebooks (with reading position) together. */
export async function learnerProgressRoutes(app: FastifyInstance, opts: { db: Kysely<Database>; clock: Clock }) {
  const courses = createCoursesService(opts)
  const reading = createReadingService({ ...opts, catalog: createCatalogService({ ...opts, kind: 'ebook' }) })

  app.get(
    '/me/progress',
    { config: { access: 'user' }, schema: { response: { 200: myProgressResponseSchema } } },
    async (req) => {
      const [enrolled, read] = await Promise.all([courses.mine(req.user!), reading.mine(req.user!)])
      return { courses: enrolled.map(presentEnrolledCourse), ebooks: read.map(presentReadEbook) }
    },
  )
}
