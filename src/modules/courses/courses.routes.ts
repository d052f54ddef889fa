import type { FastifyInstance } from 'fastify'
import { presentWork } from '../catalog/catalog.presenter.ts'
import { catalogEditingRoutes } from '../catalog/catalog.routes.ts'
import {
  refuseBodyFields,
  partParamsSchema,
  slugParamsSchema,
  type PartParams,
  type SlugParams,
} from '../catalog/catalog.schemas.ts'
import type { MarkdownRenderer } from '../catalog/rendering/markdown.ts'
import { renderOrRefuse } from '../catalog/rendering/render-refusal.ts'
import { presentCourse, presentLesson } from './courses.presenter.ts'
import {
  courseListResponseSchema,
  courseResponseSchema,
  enrollResponseSchema,
  lessonResponseSchema,
  progressResponseSchema,
} from './courses.schemas.ts'
import { signedIn } from '../../security/authz.ts'
import type { CoursesService } from './courses.service.ts'
import { logCertificateIssued } from '../certificates/certificate-events.ts'
import { withoutQuizBlock } from '../quizzes/quiz-parser.ts'
import type { QuizService } from '../quizzes/quiz.service.ts'

export interface CoursesRoutesOptions {
  courses: CoursesService
  markdown: MarkdownRenderer
  quizzes: QuizService
}

/**
 * CONTRACT §6, courses: the catalogue and lessons for everyone (drafts for staff only),
 * enrollment and completion for the signed-in, editing for instructors and admins.
 */
export async function coursesRoutes(app: FastifyInstance, opts: CoursesRoutesOptions) {
  const { courses } = opts
  const forSignedIn = { access: 'user' } as const

  app.get(
    '/courses',
    { config: { access: 'public' }, schema: { response: { 200: courseListResponseSchema } } },
    async (req) => ({
      courses: (await courses.catalog.list(req.user)).map((work) => presentWork('course', work)),
    }),
  )

  app.get<{ Params: SlugParams }>(
    '/courses/:slug',
    { config: { access: 'public' }, schema: { params: slugParamsSchema, response: { 200: courseResponseSchema } } },
    async (req) => {
      const { work, parts, learner } = await courses.detail(req.params.slug, req.user)
      return { course: presentCourse(work, parts, learner) }
    },
  )

  app.get<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n',
    { config: { access: 'public' }, schema: { params: partParamsSchema, response: { 200: lessonResponseSchema } } },
    async (req) => {
      const lesson = await courses.lesson(req.params.slug, req.params.n, req.user)
      // The quiz block is the quiz form, never a code block that would show the right choices.
      const html = await renderOrRefuse(req, opts.markdown, withoutQuizBlock(lesson.part.body_markdown))
      return { lesson: presentLesson(lesson, html, lesson.completed, await opts.quizzes.view(lesson)) }
    },
  )

  app.post<{ Params: SlugParams }>(
    '/courses/:slug/enroll',
    {
      config: forSignedIn,
      preValidation: refuseBodyFields,
      schema: { params: slugParamsSchema, response: { 200: enrollResponseSchema } },
    },
    async (req) => {
      const { enrolledAt, progress } = await courses.enroll(req.params.slug, signedIn(req).user)
      return { enrolled: true, enrolled_at: new Date(enrolledAt).toISOString(), progress }
    },
  )

  app.post<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n/complete',
    {
      config: forSignedIn,
      preValidation: refuseBodyFields,
      schema: { params: partParamsSchema, response: { 200: progressResponseSchema } },
    },
    async (req) => {
      const completion = await courses.complete(req.params.slug, req.params.n, signedIn(req).user)
      logCertificateIssued(req, completion.certificate)
      return { progress: completion.progress }
    },
  )

  await catalogEditingRoutes(app, { catalog: courses.catalog, markdown: opts.markdown })
}
