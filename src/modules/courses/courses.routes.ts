import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import type { Clock } from '../../lib/clock.ts'
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
import { createCoursesService } from './courses.service.ts'

export interface CoursesRoutesOptions {
  db: Kysely<Database>
  clock: Clock
  markdown: MarkdownRenderer
}

/**
 * CONTRACT §6, courses: the catalogue and lessons for everyone (drafts for staff only),
 * enrollment and completion for the signed-in, editing for instructors and admins.
 */
export async function coursesRoutes(app: FastifyInstance, opts: CoursesRoutesOptions) {
  const courses = createCoursesService({ db: opts.db, clock: opts.clock })
  const signedIn = { access: 'user' } as const

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
      return {
        lesson: presentLesson(
          lesson,
          await renderOrRefuse(req, opts.markdown, lesson.part.body_markdown),
          lesson.completed,
        ),
      }
    },
  )

  app.post<{ Params: SlugParams }>(
    '/courses/:slug/enroll',
    {
      config: signedIn,
      preValidation: refuseBodyFields,
      schema: { params: slugParamsSchema, response: { 200: enrollResponseSchema } },
    },
    async (req) => {
      const { enrolledAt, progress } = await courses.enroll(req.params.slug, req.user!)
      return { enrolled: true, enrolled_at: new Date(enrolledAt).toISOString(), progress }
    },
  )

  app.post<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n/complete',
    {
      config: signedIn,
      preValidation: refuseBodyFields,
      schema: { params: partParamsSchema, response: { 200: progressResponseSchema } },
    },
    async (req) => ({ progress: await courses.complete(req.params.slug, req.params.n, req.user!) }),
  )

  await catalogEditingRoutes(app, { catalog: courses.catalog, markdown: opts.markdown })
}
