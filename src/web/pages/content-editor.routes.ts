import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  createPartBodySchema,
  createWorkBodySchema,
  partParamsSchema,
  slugParamsSchema,
  type PartParams,
  type SlugParams,
} from '../../modules/catalog/catalog.schemas.ts'
import type { CatalogService, NewPart, NewWork } from '../../modules/catalog/catalog.service.ts'
import {
  BODY_MAX_CHARS,
  DESCRIPTION_MAX_CHARS,
  MAX_PARTS,
  normalizeMarkdown,
  SLUG_MAX_CHARS,
  TITLE_MAX_CHARS,
} from '../../modules/catalog/fields.ts'
import type { MarkdownRenderer } from '../../modules/catalog/rendering/markdown.ts'
import type { MarkdownReview } from '../../modules/catalog/rendering/markdown.ts'
import { reviewOrRefuse } from '../../modules/catalog/rendering/render-refusal.ts'
import type { createFormChecks } from '../form-validation.ts'
import { emptyForm, formValues, submitForm, type FormState } from '../forms.ts'
import { seeOther, type Pages } from '../page.ts'
import { signedIn } from '../../security/authz.ts'

export interface ContentEditorOptions {
  pages: Pages
  catalog: CatalogService
  forms: ReturnType<typeof createFormChecks>
  /** A body is rendered before it is stored: one too complex to render is refused (docs/adr/0016). */
  markdown: MarkdownRenderer
}

const WORK_FIELDS = ['title', 'slug', 'description', 'published'] as const
const PART_FIELDS = ['title', 'body', 'position'] as const

const WORK_ERRORS = {
  title: `Enter a title of at most ${TITLE_MAX_CHARS} characters.`,
  slug: `Use lower-case letters, digits and single hyphens (at most ${SLUG_MAX_CHARS}), like intro-to-css.`,
  description: `At most ${DESCRIPTION_MAX_CHARS} characters.`,
}
const PART_ERRORS = {
  title: `Enter a title of at most ${TITLE_MAX_CHARS} characters.`,
  body: `At most ${BODY_MAX_CHARS.toLocaleString('en')} characters of Markdown.`,
  position: `A number from 1 to the number of parts.`,
}

/**
 * A lesson's Markdown may be long (BODY_MAX_CHARS characters, up to four bytes each, and the
 * form's percent-encoding triples that): these two routes take more than the 64 KiB of other forms.
 */
const PART_FORM_BODY_LIMIT_BYTES = 8 * 1024 * 1024

/** The typed input of the API's schemas, from the strings of a form. */
function workInput(values: Record<string, string>): NewWork {
  const input: NewWork = {
    title: values.title ?? '',
    description: values.description ?? '',
    published: values.published === 'on',
  }
  // Left empty, the address is made from the title (the catalog service keeps it unique).
  if (values.slug) input.slug = values.slug
  return input
}

function partInput(values: Record<string, string>): NewPart {
  const input: NewPart = { title: values.title ?? '', body: values.body ?? '' }
  // An empty position keeps the place; anything else must be a whole number (the schema says which).
  if (values.position) input.position = /^\d{1,7}$/.test(values.position) ? Number(values.position) : NaN
  return input
}

/**
 * Editing a kind of work in the browser (`/admin/courses/…`, `/admin/ebooks/…`): create, change,
 * publish and delete works, add, change, reorder and delete their parts. The forms are checked
 * with the API's own body schemas and saved by the same catalog service, so a course edited here
 * is exactly what the API would have made.
 */
export async function contentEditorPages(app: FastifyInstance, opts: ContentEditorOptions) {
  const { pages, catalog } = opts
  const kind = catalog.kind
  const labels = catalog.labels
  const base = `/admin/${kind}s`
  const publicBase = `/${kind}s`
  const checkWork = opts.forms.compile(createWorkBodySchema, WORK_ERRORS)
  const checkPart = opts.forms.compile(createPartBodySchema, PART_ERRORS)
  const staff = { access: 'instructor', html: true } as const
  const workPath = (slug: string) => `${base}/${encodeURIComponent(slug)}`
  // Every page of an existing work is its owners' and admins' (CONTRACT §12), reading included:
  // the editor shows the Markdown source and the forms only to whoever may use them.
  const owned = catalog.owners.guard

  const newWorkPage = (req: FastifyRequest, reply: FastifyReply, form: FormState, status = 200) =>
    pages.send(
      req,
      reply,
      'admin-work',
      { kind, labels, form, action: base, work: null, parts: [], partForm: emptyForm(), base, publicBase },
      { title: `New ${kind}`, status, forms: true },
    )

  async function editWorkPage(
    req: FastifyRequest,
    reply: FastifyReply,
    slug: string,
    forms: { form?: FormState; partForm?: FormState },
    status = 200,
  ) {
    const { work, parts } = await catalog.get(slug, req.user)
    const form =
      forms.form ??
      emptyForm({
        title: work.title,
        slug: work.slug,
        description: work.description,
        published: work.published === 1 ? 'on' : '',
      })
    return pages.send(
      req,
      reply,
      'admin-work',
      {
        kind,
        labels,
        form,
        action: workPath(work.slug),
        work,
        parts: parts.map((part, index) => ({ n: index + 1, title: part.title })),
        partForm: forms.partForm ?? emptyForm(),
        maxParts: MAX_PARTS,
        base,
        publicBase,
      },
      { title: `Edit ${work.title}`, status },
    )
  }

  /**
   * The part's edit page. With `review`, it also shows the text rendered (a preview, or what was
   * just saved) and names what the sanitizer removed from it, so an author learns why a tag of
   * theirs is missing from the page.
   */
  async function partPage(
    req: FastifyRequest,
    reply: FastifyReply,
    slug: string,
    n: number,
    form?: FormState,
    status = 200,
    review?: { saved: boolean } & MarkdownReview,
  ) {
    const { work, part } = await catalog.source(slug, n, req.user)
    return pages.send(
      req,
      reply,
      'admin-part',
      {
        kind,
        labels,
        work,
        n,
        form: form ?? emptyForm({ title: part.title, body: part.body_markdown, position: String(n) }),
        action: `${workPath(work.slug)}/parts/${n}`,
        base,
        review: review && { saved: review.saved, removed: review.removed, sanitizedHtml: review.html },
      },
      { title: `Edit ${part.title}`, status },
    )
  }

  const invalidMessage = `Invalid ${kind} form`
  const workForm = {
    fields: WORK_FIELDS,
    invalidMessage,
    check: (values: Record<string, string>) => checkWork(workInput(values)),
  }
  const partForm = {
    fields: PART_FIELDS,
    invalidMessage,
    check: (values: Record<string, string>) => checkPart(partInput(values)),
  }

  app.get(`${base}/new`, { config: staff }, async (req, reply) => newWorkPage(req, reply, emptyForm({ published: '' })))

  app.post(
    base,
    {
      config: {
        ...staff,
        redisplayForm: (req, reply, problem) =>
          newWorkPage(
            req,
            reply,
            { ...emptyForm(formValues(req.body, WORK_FIELDS)), formError: problem.message },
            problem.status,
          ),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        ...workForm,
        show: (form, status) => newWorkPage(req, reply, form, status),
        async act(values) {
          const work = await catalog.create(workInput(values), signedIn(req).user.id)
          return seeOther(reply, workPath(work.slug), 'content-updated')
        },
      }),
  )

  app.get<{ Params: SlugParams }>(
    `${base}/:slug`,
    { config: staff, onRequest: owned, schema: { params: slugParamsSchema } },
    async (req, reply) => editWorkPage(req, reply, req.params.slug, {}),
  )

  app.post<{ Params: SlugParams }>(
    `${base}/:slug`,
    {
      config: {
        ...staff,
        redisplayForm: (req, reply, problem) =>
          editWorkPage(
            req,
            reply,
            (req.params as SlugParams).slug,
            { form: { ...emptyForm(formValues(req.body, WORK_FIELDS)), formError: problem.message } },
            problem.status,
          ),
      },
      onRequest: owned,
      schema: { params: slugParamsSchema },
    },
    async (req, reply) =>
      submitForm(req, {
        ...workForm,
        show: (form, status) => editWorkPage(req, reply, req.params.slug, { form }, status),
        async act(values) {
          const work = await catalog.update(req.params.slug, workInput(values), req.user)
          return seeOther(reply, workPath(work.slug), 'content-updated')
        },
      }),
  )

  app.post<{ Params: SlugParams }>(
    `${base}/:slug/parts`,
    {
      config: {
        ...staff,
        redisplayForm: (req, reply, problem) =>
          editWorkPage(
            req,
            reply,
            (req.params as SlugParams).slug,
            { partForm: { ...emptyForm(formValues(req.body, PART_FIELDS)), formError: problem.message } },
            problem.status,
          ),
      },
      onRequest: owned,
      schema: { params: slugParamsSchema },
      bodyLimit: PART_FORM_BODY_LIMIT_BYTES,
    },
    async (req, reply) =>
      submitForm(req, {
        ...partForm,
        show: (form, status) => editWorkPage(req, reply, req.params.slug, { partForm: form }, status),
        async act(values) {
          const input = partInput(values)
          const review = await reviewOrRefuse(req, opts.markdown, normalizeMarkdown(input.body))
          const added = await catalog.addPart(req.params.slug, input, req.user)
          if (review.removed.length === 0) return seeOther(reply, workPath(req.params.slug), 'content-updated')
          // Added, but not all of it will show: its edit page says what was removed, with the result.
          const form = emptyForm({ ...values, position: String(added.n) })
          return partPage(req, reply, req.params.slug, added.n, form, 201, { saved: true, ...review })
        },
      }),
  )

  app.get<{ Params: PartParams }>(
    `${base}/:slug/parts/:n`,
    { config: staff, onRequest: owned, schema: { params: partParamsSchema } },
    async (req, reply) => partPage(req, reply, req.params.slug, req.params.n),
  )

  app.post<{ Params: PartParams }>(
    `${base}/:slug/parts/:n`,
    {
      config: {
        ...staff,
        redisplayForm: (req, reply, problem) => {
          const { slug, n } = req.params as PartParams
          const form = { ...emptyForm(formValues(req.body, PART_FIELDS)), formError: problem.message }
          return partPage(req, reply, slug, n, form, problem.status)
        },
      },
      onRequest: owned,
      schema: { params: partParamsSchema },
      bodyLimit: PART_FORM_BODY_LIMIT_BYTES,
    },
    async (req, reply) => {
      const { slug, n } = req.params
      return submitForm(req, {
        ...partForm,
        show: (form, status) => partPage(req, reply, slug, n, form, status),
        async act(values) {
          const input = partInput(values)
          const review = await reviewOrRefuse(req, opts.markdown, normalizeMarkdown(input.body))
          // "Preview" (the form's second button): the text rendered as learners would see it, nothing saved.
          if (formValues(req.body, ['intent']).intent === 'preview') {
            return partPage(req, reply, slug, n, emptyForm(values), 200, { saved: false, ...review })
          }
          const updated = await catalog.updatePart(slug, n, input, req.user)
          if (review.removed.length === 0) return seeOther(reply, workPath(slug), 'content-updated')
          // Saved, but not all of it will show: the page says what was removed, with the result.
          const form = emptyForm({ ...values, position: String(updated.n) })
          return partPage(req, reply, slug, updated.n, form, 200, { saved: true, ...review })
        },
      })
    },
  )

  app.get<{ Params: PartParams }>(
    `${base}/:slug/parts/:n/delete`,
    { config: staff, onRequest: owned, schema: { params: partParamsSchema } },
    async (req, reply) => {
      const { work, part } = await catalog.part(req.params.slug, req.params.n, req.user)
      return pages.send(
        req,
        reply,
        'confirm',
        {
          heading: `Delete “${part.title}”?`,
          message: `${labels.part} ${req.params.n} of ${work.title} will be deleted, and with it the progress learners made in it. This cannot be undone.`,
          action: `${workPath(work.slug)}/parts/${req.params.n}/delete`,
          button: `Delete the ${labels.part.toLowerCase()}`,
          back: workPath(work.slug),
        },
        { title: `Delete ${part.title}` },
      )
    },
  )

  app.post<{ Params: PartParams }>(
    `${base}/:slug/parts/:n/delete`,
    { config: staff, onRequest: owned, schema: { params: partParamsSchema } },
    async (req, reply) => {
      await catalog.removePart(req.params.slug, req.params.n, req.user)
      return seeOther(reply, workPath(req.params.slug), 'content-deleted')
    },
  )

  app.get<{ Params: SlugParams }>(
    `${base}/:slug/delete`,
    { config: staff, onRequest: owned, schema: { params: slugParamsSchema } },
    async (req, reply) => {
      const { work } = await catalog.get(req.params.slug, req.user)
      return pages.send(
        req,
        reply,
        'confirm',
        {
          heading: `Delete “${work.title}”?`,
          message: `The ${kind} and its ${work.part_count} ${labels.parts} will be deleted, and with them the progress learners made. This cannot be undone.`,
          action: `${workPath(work.slug)}/delete`,
          button: `Delete the ${kind}`,
          back: workPath(work.slug),
        },
        { title: `Delete ${work.title}` },
      )
    },
  )

  app.post<{ Params: SlugParams }>(
    `${base}/:slug/delete`,
    { config: staff, onRequest: owned, schema: { params: slugParamsSchema } },
    async (req, reply) => {
      await catalog.remove(req.params.slug, req.user)
      return seeOther(reply, '/admin', 'content-deleted')
    },
  )
}
