import type { FastifyInstance } from 'fastify'
import { partParamsSchema, type PartParams } from '../catalog/catalog.schemas.ts'
import { logCertificateIssued } from '../certificates/certificate-events.ts'
import { signedIn } from '../../security/authz.ts'
import {
  quizAnswersBodySchema,
  quizAttemptsResponseSchema,
  quizResultResponseSchema,
  type QuizAnswersBody,
} from './quiz.schemas.ts'
import type { QuizService } from './quiz.service.ts'

/** CONTRACT §12: taking a lesson's quiz, and the caller's attempts. */
export async function quizRoutes(app: FastifyInstance, opts: { quizzes: QuizService }) {
  const { quizzes } = opts

  app.post<{ Params: PartParams; Body: QuizAnswersBody }>(
    '/courses/:slug/lessons/:n/quiz',
    {
      config: { access: 'user' },
      schema: { params: partParamsSchema, body: quizAnswersBodySchema, response: { 200: quizResultResponseSchema } },
    },
    async (req) => {
      const { grade, completion } = await quizzes.submit(
        req,
        req.params.slug,
        req.params.n,
        signedIn(req).user,
        req.body.answers,
      )
      logCertificateIssued(req, completion.certificate)
      return grade
    },
  )

  app.get<{ Params: PartParams }>(
    '/courses/:slug/lessons/:n/quiz/attempts',
    { config: { access: 'user' }, schema: { params: partParamsSchema, response: { 200: quizAttemptsResponseSchema } } },
    async (req) => ({
      attempts: (await quizzes.attempts(req.params.slug, req.params.n, signedIn(req).user)).map((attempt) => ({
        score: attempt.score,
        total: attempt.total,
        percent: attempt.percent,
        passed: attempt.passed,
        correct: attempt.correct,
        answers: attempt.answers,
        created_at: new Date(attempt.createdAt).toISOString(),
      })),
    }),
  )
}
