import type { FastifyInstance } from 'fastify'
import { presentEnrolledCourse } from '../courses/courses.presenter.ts'
import { enrolledCourseSchema } from '../courses/courses.schemas.ts'
import { presentReadEbook } from '../ebooks/ebooks.presenter.ts'
import { readEbookSchema } from '../ebooks/ebooks.schemas.ts'
import { signedIn } from '../../security/authz.ts'
import type { CoursesService } from '../courses/courses.service.ts'
import type { ReadingService } from './reading.service.ts'

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
export async function learnerProgressRoutes(
  app: FastifyInstance,
  opts: { courses: CoursesService; reading: ReadingService },
) {
  const { courses, reading } = opts

  app.get(
    '/me/progress',
    { config: { access: 'user' }, schema: { response: { 200: myProgressResponseSchema } } },
    async (req) => {
      const [enrolled, read] = await Promise.all([courses.mine(signedIn(req).user), reading.mine(signedIn(req).user)])
      return { courses: enrolled.map(presentEnrolledCourse), ebooks: read.map(presentReadEbook) }
    },
  )
}
