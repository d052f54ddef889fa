import type { FastifyInstance } from 'fastify'
import { slugParamsSchema, type SlugParams } from '../../modules/catalog/catalog.schemas.ts'
import type { OwnersService } from '../../modules/catalog/owners.service.ts'
import { presentLearner } from '../../modules/reports/learners.presenter.ts'
import { LEARNER_SORTS, type LearnerSort, type LearnersReport } from '../../modules/reports/learners.service.ts'
import type { Pages } from '../page.ts'

const SORT_LABELS: Record<LearnerSort, string> = {
  name: 'Name',
  progress: 'Progress',
  last_activity: 'Last activity',
}

/**
 * `/courses/:slug/learners`: the learners report as a page, for the course's owners and admins,
 * sorted by plain links (no JavaScript) and downloadable as the API's CSV.
 */
export async function learnersPages(
  app: FastifyInstance,
  opts: { pages: Pages; report: LearnersReport; owners: OwnersService },
) {
  app.get<{ Params: SlugParams; Querystring: { sort?: string } }>(
    '/courses/:slug/learners',
    {
      config: { access: 'instructor', html: true },
      onRequest: opts.owners.guard,
      schema: { params: slugParamsSchema },
    },
    async (req, reply) => {
      const asked = req.query.sort
      // An unknown sort on a page is the default order, not an error page.
      const sort: LearnerSort = (LEARNER_SORTS as readonly string[]).includes(asked ?? '')
        ? (asked as LearnerSort)
        : 'name'
      const { work, learners } = await opts.report.forCourse(req.params.slug, req.user, sort)
      return opts.pages.send(
        req,
        reply,
        'learners',
        {
          work,
          learners: learners.map(presentLearner),
          sort,
          sorts: LEARNER_SORTS.map((value) => ({ value, label: SORT_LABELS[value] })),
          csvUrl: `/api/courses/${encodeURIComponent(work.slug)}/learners?format=csv&sort=${sort}`,
        },
        { title: `Learners of ${work.title}` },
      )
    },
  )
}
