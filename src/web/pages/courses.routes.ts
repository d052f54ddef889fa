import type { FastifyInstance } from 'fastify'
import {
  partParamsSchema,
  slugParamsSchema,
  type PartParams,
  type SlugParams,
} from '../../modules/catalog/catalog.schemas.ts'
import type { MarkdownRenderer } from '../../modules/catalog/rendering/markdown.ts'
import { renderOrRefuse } from '../../modules/catalog/rendering/render-refusal.ts'
import type { CoursesService } from '../../modules/courses/courses.service.ts'
import { seeOther, type Pages } from '../page.ts'
import { signedIn } from '../../security/authz.ts'

export interface CoursePagesOptions {
  pages: Pages
  courses: CoursesService
  markdown: MarkdownRenderer
}

const coursePath = (slug: string) => `/courses/${encodeURIComponent(slug)}`

/**
 * A course (its lessons, enrolment and the learner's progress) and its lessons, with "Mark as
 * complete". Enrolling and completing are one-button forms: a 303 back to the page, which shows
 * the new progress. Drafts are visible to staff only (the courses service decides: a 404 otherwise).
 */
export async function coursePages(app: FastifyInstance, opts: CoursePagesOptions) {
  const { pages, courses, markdown } = opts

  app.get<{ Params: SlugParams }>(
    '/courses/:slug',
    { config: { access: 'public', html: true }, schema: { params: slugParamsSchema } },
    async (req, reply) => {
      const { work, parts, learner } = await courses.detail(req.params.slug, req.user)
      const lessons = parts.map((part, index) => ({
        n: index + 1,
        title: part.title,
        completed: learner.completedLessonIds.has(part.id),
      }))
      const next = lessons.find((lesson) => !lesson.completed) ?? null
      return pages.send(
        req,
        reply,
        'course',
        { course: work, lessons, enrolled: learner.enrolledAt !== null, progress: learner.progress, next },
        { title: work.title },
      )
    },
  )

  app.get<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n',
    { config: { access: 'public', html: true }, schema: { params: partParamsSchema } },
    async (req, reply) => {
      const { slug, n } = req.params
      const [lesson, detail] = await Promise.all([courses.lesson(slug, n, req.user), courses.detail(slug, req.user)])
      return pages.send(
        req,
        reply,
        'lesson',
        {
          course: lesson.work,
          n,
          total: detail.parts.length,
          title: lesson.part.title,
          // Sanitized by the Markdown renderer (modules/catalog/rendering/markdown.ts): the one raw HTML a page shows.
          sanitizedHtml: await renderOrRefuse(req, markdown, lesson.part.body_markdown),
          completed: lesson.completed,
          // Shown once enrolled (completing a lesson enrols); hidden until then, for the script to fill.
          progress: detail.learner.progress,
          enrolled: detail.learner.enrolledAt !== null,
          previous: n > 1 ? { n: n - 1, title: detail.parts[n - 2]?.title ?? '' } : null,
          next: n < detail.parts.length ? { n: n + 1, title: detail.parts[n]?.title ?? '' } : null,
        },
        { title: `${lesson.part.title} · ${lesson.work.title}` },
      )
    },
  )

  app.post<{ Params: SlugParams }>(
    '/courses/:slug/enroll',
    { config: { access: 'user', html: true }, schema: { params: slugParamsSchema } },
    async (req, reply) => {
      await courses.enroll(req.params.slug, signedIn(req).user)
      return seeOther(reply, coursePath(req.params.slug), 'enrolled')
    },
  )

  app.post<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n/complete',
    { config: { access: 'user', html: true }, schema: { params: partParamsSchema } },
    async (req, reply) => {
      const { slug, n } = req.params
      await courses.complete(slug, n, signedIn(req).user)
      return seeOther(reply, `${coursePath(slug)}/lessons/${n}`, 'completed')
    },
  )
}
