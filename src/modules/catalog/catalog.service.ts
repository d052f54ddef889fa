import type { Kysely } from 'kysely'
import { isUniqueViolation } from '../../db/errors.ts'
import type { Database } from '../../db/schema.ts'
import { badRequest, conflict, notFound } from '../../http/errors.ts'
import type { RequestUser } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import {
  createCatalogRepository,
  type CatalogRepository,
  type PartRow,
  type WorkWithCount,
} from './catalog.repository.ts'
import {
  DESCRIPTION_MAX_CHARS,
  MAX_PARTS,
  normalizeDescription,
  normalizeMarkdown,
  normalizeTitle,
  SLUG_MAX_CHARS,
  slugFromTitle,
  textProblem,
  TITLE_MAX_CHARS,
} from './fields.ts'
import type { ContentKind } from './content-kind.ts'
import { createOwnersRepository } from './owners.repository.ts'
import { createOwnersService } from './owners.service.ts'

/** Who is asking: the signed-in user, or null. */
export type Viewer = RequestUser | null

/**
 * Staff may see drafts. Who may change a work is narrower: its owners and admins
 * (owners.service.ts, docs/content.md, "Owners").
 */
export function isStaff(viewer: Viewer): boolean {
  return viewer?.role === 'instructor' || viewer?.role === 'admin'
}

export const LABELS: Record<ContentKind, { work: string; part: string; parts: string }> = {
  course: { work: 'Course', part: 'Lesson', parts: 'lessons' },
  ebook: { work: 'Ebook', part: 'Chapter', parts: 'chapters' },
}

export interface NewWork {
  /** Derived from the title (and made unique) when absent. */
  slug?: string
  title: string
  description?: string
  published?: boolean
}

export interface WorkChanges {
  slug?: string
  title?: string
  description?: string
  published?: boolean
}

export interface NewPart {
  title: string
  body: string
  /** 1-based place among the parts; the end when absent. */
  position?: number
}

export interface PartChanges {
  title?: string
  body?: string
  /** Moves the part to this 1-based place; the others keep their order. */
  position?: number
}

/** A part with its 1-based number and the work it belongs to. */
export interface NumberedPart {
  work: WorkWithCount
  part: PartRow
  n: number
}

/**
 * A kind's own rules for a part's Markdown (a lesson may hold a quiz): `check` refuses a body
 * before anything is written (throwing a 400), `written` keeps what is derived from it in the same
 * transaction as the body, so the two never disagree.
 */
export interface PartContentRules {
  check(body: string): void
  written(db: Kysely<Database>, partId: number, body: string, nowMs: number): Promise<void>
}

/** How many numbered variants of a title's slug to try before giving up. */
const MAX_SLUG_SUFFIX = 100

function cleanTitle(raw: string, field = 'title'): string {
  const title = normalizeTitle(raw)
  const problem = textProblem(field, title, { maxChars: TITLE_MAX_CHARS, required: true })
  if (problem) throw badRequest(problem)
  return title
}

function cleanDescription(raw: string): string {
  const description = normalizeDescription(raw)
  const problem = textProblem('description', description, { maxChars: DESCRIPTION_MAX_CHARS, required: false })
  if (problem) throw badRequest(problem)
  return description
}

/** Moves the item at `from` to `to` (0-based), keeping the others in order. */
export function moved<T>(items: readonly T[], from: number, to: number): T[] {
  const copy = [...items]
  const [item] = copy.splice(from, 1)
  copy.splice(to, 0, item as T)
  return copy
}

/**
 * Reading, writing and ordering one kind of work (courses or ebooks) and its parts.
 * Visibility: published works for everyone, drafts for staff only; a draft is a 404 to anyone
 * else, so its existence does not leak.
 */
export function createCatalogService(deps: {
  db: Kysely<Database>
  kind: ContentKind
  clock: Clock
  partContent?: PartContentRules
}) {
  const { db, kind, clock, partContent } = deps
  const labels = LABELS[kind]
  const repository = createCatalogRepository(db, kind)
  const owners = createOwnersService({ db, kind })
  const inTransaction = <T>(work: (repo: CatalogRepository, trx: Kysely<Database>) => Promise<T>) =>
    db.transaction().execute((trx) => work(createCatalogRepository(trx, kind), trx))

  const workNotFound = () => notFound(`${labels.work} not found`)
  const partNotFound = () => notFound(`${labels.part} not found`)

  async function findWork(repo: CatalogRepository, slug: string, viewer: Viewer | 'staff'): Promise<WorkWithCount> {
    const work = await repo.findWorkBySlug(slug)
    const seesDrafts = viewer === 'staff' || isStaff(viewer)
    if (!work || (work.published !== 1 && !seesDrafts)) throw workNotFound()
    return work
  }

  async function findPart(
    repo: CatalogRepository,
    slug: string,
    n: number,
    viewer: Viewer | 'staff',
  ): Promise<NumberedPart> {
    const work = await findWork(repo, slug, viewer)
    const part = await repo.findPartByRank(work.id, n)
    if (!part) throw partNotFound()
    return { work, part, n }
  }

  function checkPosition(position: number, count: number) {
    if (position < 1 || position > count) throw badRequest(`position must be between 1 and ${count}`)
  }

  /** Puts `partId` at the 1-based `position` and renumbers; returns its new number. */
  async function place(repo: CatalogRepository, workId: number, partId: number, position: number): Promise<number> {
    const parts = await repo.listParts(workId)
    checkPosition(position, parts.length)
    const from = parts.findIndex((part) => part.id === partId)
    await repo.renumber(moved(parts, from, position - 1))
    return position
  }

  /** A slug made from the title, with -2, -3… when it is taken. An explicit slug is never changed. */
  async function freeSlugFor(title: string): Promise<string> {
    const base = slugFromTitle(title)
    if (base === '') throw badRequest('slug is required when the title has no letters or digits to make one from')
    for (let suffix = 1; suffix <= MAX_SLUG_SUFFIX; suffix++) {
      const tail = suffix === 1 ? '' : `-${suffix}`
      const candidate = `${base.slice(0, SLUG_MAX_CHARS - tail.length).replace(/-+$/, '')}${tail}`
      if (!(await repository.slugTaken(candidate))) return candidate
    }
    throw conflict(`A ${kind} with this slug already exists`)
  }

  /** The part as it is after a change made by staff. */
  const reread = (repo: CatalogRepository, slug: string, n: number) => findPart(repo, slug, n, 'staff')

  return {
    kind,
    labels,
    repository,
    owners,

    list(viewer: Viewer): Promise<WorkWithCount[]> {
      return repository.listWorks({ includeDrafts: isStaff(viewer) })
    },

    async get(slug: string, viewer: Viewer) {
      const work = await findWork(repository, slug, viewer)
      return { work, parts: await repository.listParts(work.id) }
    },

    part(slug: string, n: number, viewer: Viewer): Promise<NumberedPart> {
      return findPart(repository, slug, n, viewer)
    },

    /** Creates a work; its author (when given) is its first owner, in the same transaction. */
    async create(input: NewWork, authorId: number | null): Promise<WorkWithCount> {
      const nowMs = clock.now()
      const title = cleanTitle(input.title)
      const values = {
        slug: input.slug ?? (await freeSlugFor(title)),
        title,
        description: cleanDescription(input.description ?? ''),
        // Written through the API, a work starts as a draft: staff publish it when it is ready.
        published: input.published ? 1 : 0,
        created_by: authorId,
        created_at: nowMs,
        updated_at: nowMs,
      }
      if (await repository.slugTaken(values.slug)) throw conflict(`A ${kind} with this slug already exists`)
      try {
        await db.transaction().execute(async (trx) => {
          const workId = await createCatalogRepository(trx, kind).insertWork(values)
          if (authorId !== null) await createOwnersRepository(trx, kind).add(workId, authorId)
        })
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`A ${kind} with this slug already exists`)
        throw error
      }
      return (await repository.findWorkBySlug(values.slug))!
    },

    async update(slug: string, changes: WorkChanges, viewer: Viewer): Promise<WorkWithCount> {
      const work = await findWork(repository, slug, viewer)
      const patch: Parameters<CatalogRepository['updateWork']>[1] = { updated_at: clock.now() }
      if (changes.title !== undefined) patch.title = cleanTitle(changes.title)
      if (changes.description !== undefined) patch.description = cleanDescription(changes.description)
      if (changes.published !== undefined) patch.published = changes.published ? 1 : 0
      if (changes.slug !== undefined && changes.slug !== work.slug) {
        if (await repository.slugTaken(changes.slug)) throw conflict(`A ${kind} with this slug already exists`)
        patch.slug = changes.slug
      }
      try {
        await repository.updateWork(work.id, patch)
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`A ${kind} with this slug already exists`)
        throw error
      }
      return (await repository.findWorkBySlug(patch.slug ?? work.slug))!
    },

    async remove(slug: string, viewer: Viewer): Promise<void> {
      const work = await findWork(repository, slug, viewer)
      await repository.deleteWork(work.id)
    },

    /** The part with its Markdown source, for editors. */
    source(slug: string, n: number, viewer: Viewer): Promise<NumberedPart> {
      return findPart(repository, slug, n, viewer)
    },

    async addPart(slug: string, input: NewPart, viewer: Viewer): Promise<NumberedPart> {
      const title = cleanTitle(input.title)
      const body = normalizeMarkdown(input.body)
      partContent?.check(body)
      return inTransaction(async (repo, trx) => {
        const work = await findWork(repo, slug, viewer)
        if (work.part_count >= MAX_PARTS) throw badRequest(`A ${kind} has at most ${MAX_PARTS} ${labels.parts}`)
        const nowMs = clock.now()
        const id = await repo.insertPart({
          work_id: work.id,
          position: (await repo.maxPosition(work.id)) + 1,
          source_key: null,
          title,
          body_markdown: body,
          created_at: nowMs,
          updated_at: nowMs,
        })
        await partContent?.written(trx, id, body, nowMs)
        await repo.updateWork(work.id, { updated_at: nowMs })
        const n = input.position === undefined ? work.part_count + 1 : await place(repo, work.id, id, input.position)
        return reread(repo, slug, n)
      })
    },

    async updatePart(slug: string, n: number, changes: PartChanges, viewer: Viewer): Promise<NumberedPart> {
      const title = changes.title === undefined ? undefined : cleanTitle(changes.title)
      const body = changes.body === undefined ? undefined : normalizeMarkdown(changes.body)
      if (body !== undefined) partContent?.check(body)
      return inTransaction(async (repo, trx) => {
        const { work, part } = await findPart(repo, slug, n, viewer)
        const patch: Parameters<CatalogRepository['updatePart']>[1] = {}
        if (title !== undefined) patch.title = title
        if (body !== undefined) patch.body_markdown = body
        if (Object.keys(patch).length > 0) await repo.updatePart(part.id, { ...patch, updated_at: clock.now() })
        if (body !== undefined) await partContent?.written(trx, part.id, body, clock.now())
        const number = changes.position === undefined ? n : await place(repo, work.id, part.id, changes.position)
        await repo.updateWork(work.id, { updated_at: clock.now() })
        return reread(repo, slug, number)
      })
    },

    async removePart(slug: string, n: number, viewer: Viewer): Promise<void> {
      await inTransaction(async (repo) => {
        const { work, part } = await findPart(repo, slug, n, viewer)
        await repo.deletePart(part.id)
        await repo.updateWork(work.id, { updated_at: clock.now() })
      })
    },
  }
}

export type CatalogService = ReturnType<typeof createCatalogService>
