import type { FastifyInstance } from 'fastify'
import { slugParamsSchema, type SlugParams } from '../catalog/catalog.schemas.ts'
import type { OwnersService } from '../catalog/owners.service.ts'
import { learnersCsv, learnersCsvDisposition, learnersResponseSchema, presentLearner } from './learners.presenter.ts'
import { LEARNER_SORTS, type LearnerSort, type LearnersReport } from './learners.service.ts'

export const learnersQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sort: { type: 'string', enum: [...LEARNER_SORTS] },
    format: { type: 'string', enum: ['json', 'csv'] },
  },
} as const
export interface LearnersQuery {
  sort?: LearnerSort
  format?: 'json' | 'csv'
}

/**
 * CONTRACT §12, reports: `GET /api/courses/:slug/learners` for the course's owners and admins
 * (the owners' guard answers an instructor who does not own it, before anything is read), as
 * JSON or, with `?format=csv`, as a CSV download.
 */
export async function learnersReportRoutes(
  app: FastifyInstance,
  opts: { report: LearnersReport; owners: OwnersService },
) {
  app.get<{ Params: SlugParams; Querystring: LearnersQuery }>(
    '/courses/:slug/learners',
    {
      config: { access: 'instructor' },
      onRequest: opts.owners.guard,
      schema: {
        params: slugParamsSchema,
        querystring: learnersQuerySchema,
        response: { 200: learnersResponseSchema },
      },
    },
    async (req, reply) => {
      const { work, learners } = await opts.report.forCourse(req.params.slug, req.user, req.query.sort)
      if (req.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('Content-Disposition', learnersCsvDisposition(work.slug))
          .header('Cache-Control', 'no-store')
          .send(learnersCsv(learners))
      }
      reply.header('Cache-Control', 'no-store')
      return { learners: learners.map(presentLearner) }
    },
  )
}
