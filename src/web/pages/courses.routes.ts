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
import { logCertificateIssued } from '../../modules/certificates/certificate-events.ts'
import { withoutQuizBlock } from '../../modules/quizzes/quiz-parser.ts'
import type { QuizService } from '../../modules/quizzes/quiz.service.ts'
import { HttpError } from '../../http/errors.ts'
import { seeOther, type Pages } from '../page.ts'
import { signedIn } from '../../security/authz.ts'
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface CoursePagesOptions {
  pages: Pages
  courses: CoursesService
  markdown: MarkdownRenderer
  quizzes: QuizService
}

/** A quiz form refused (an unanswered question): shown again with what was chosen. */
interface QuizFormState {
  error: string
  selected: Record<string, string[]>
}

/** The choices a quiz form sent: a radio group is one field, a checkbox group a repeated one. */
function answersFromForm(body: unknown, questionIds: readonly string[]): Record<string, string[]> {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {}
  const answers: Record<string, string[]> = {}
  for (const id of questionIds) {
    const value = Object.hasOwn(fields, id) ? fields[id] : undefined
    const chosen = (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string')
    // An unanswered question is absent, as in the API: the service asks for every answer.
    if (chosen.length > 0) answers[id] = chosen
  }
  return answers
}

const coursePath = (slug: string) => `/courses/${encodeURIComponent(slug)}`

/**
 * A course (its lessons, enrolment and the learner's progress) and its lessons, with "Mark as
 * complete". Enrolling and completing are one-button forms: a 303 back to the page, which shows
 * the new progress. Drafts are visible to staff only (the courses service decides: a 404 otherwise).
 */
export async function coursePages(app: FastifyInstance, opts: CoursePagesOptions) {
  const { pages, courses, markdown, quizzes } = opts

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

  async function lessonPage(
    req: FastifyRequest,
    reply: FastifyReply,
    slug: string,
    n: number,
    quizForm: QuizFormState | null = null,
    status = 200,
  ) {
    const [lesson, detail] = await Promise.all([courses.lesson(slug, n, req.user), courses.detail(slug, req.user)])
    const [quiz, lastAttempt] = await Promise.all([quizzes.view(lesson), quizzes.lastAttempt(lesson, req.user)])
    // Which questions the last attempt got wrong, by number and text: never which choice was right.
    const wrong =
      quiz && lastAttempt
        ? quiz.questions.flatMap((question, index) =>
            lastAttempt.correct[question.id] === false ? [{ number: index + 1, text: question.text }] : [],
          )
        : []
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
        // The quiz block is not part of it: it is the quiz form below.
        sanitizedHtml: await renderOrRefuse(req, markdown, withoutQuizBlock(lesson.part.body_markdown)),
        completed: lesson.completed,
        quiz,
        // The result only: the attempt's answers stay out of the page.
        lastAttempt: lastAttempt && {
          score: lastAttempt.score,
          total: lastAttempt.total,
          percent: lastAttempt.percent,
          passed: lastAttempt.passed,
          wrong,
        },
        quizForm,
        // Shown once enrolled (completing a lesson enrols); hidden until then, for the script to fill.
        progress: detail.learner.progress,
        enrolled: detail.learner.enrolledAt !== null,
        previous: n > 1 ? { n: n - 1, title: detail.parts[n - 2]?.title ?? '' } : null,
        next: n < detail.parts.length ? { n: n + 1, title: detail.parts[n]?.title ?? '' } : null,
      },
      { title: `${lesson.part.title} · ${lesson.work.title}`, status },
    )
  }

  app.get<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n',
    { config: { access: 'public', html: true }, schema: { params: partParamsSchema } },
    async (req, reply) => lessonPage(req, reply, req.params.slug, req.params.n),
  )

  app.post<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n/quiz',
    { config: { access: 'user', html: true }, schema: { params: partParamsSchema } },
    async (req, reply) => {
      const { slug, n } = req.params
      const lesson = await courses.lesson(slug, n, req.user)
      const quiz = await quizzes.view(lesson)
      const answers = answersFromForm(req.body, quiz?.questions.map((question) => question.id) ?? [])
      try {
        const { grade, completion } = await quizzes.submit(req, slug, n, signedIn(req).user, answers)
        logCertificateIssued(req, completion.certificate)
        const notice = completion.certificate ? 'course-certified' : grade.passed ? 'quiz-passed' : 'quiz-failed'
        return seeOther(reply, `${coursePath(slug)}/lessons/${n}`, notice)
      } catch (error) {
        if (!(error instanceof HttpError) || error.statusCode !== 400) throw error
        const message = error.message.startsWith('Answer every question')
          ? 'Please answer every question.'
          : 'Those answers do not fit this quiz. Please choose again.'
        return lessonPage(req, reply, slug, n, { error: message, selected: answers }, 400)
      }
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
      const completion = await courses.complete(slug, n, signedIn(req).user)
      logCertificateIssued(req, completion.certificate)
      return seeOther(
        reply,
        `${coursePath(slug)}/lessons/${n}`,
        completion.certificate ? 'course-certified' : 'completed',
      )
    },
  )
}
