import { sql, type ExpressionBuilder, type Insertable, type Kysely, type Updateable } from 'kysely'
import type { Database, PartColumns, WorksTable } from '../../db/schema.ts'
import type { ContentKind } from './content-kind.ts'

/** A kind's tables; `workId` is the one column its parts have beyond the shared ones. */
interface KindTables<Parts extends 'lessons' | 'chapters'> {
  works: 'courses' | 'ebooks'
  parts: Parts
  workId: Exclude<keyof Database[Parts], keyof PartColumns>
}

/**
 * Courses with their lessons and ebooks with their chapters have the same shape: a "work" with
 * ordered "parts". The queries are written once, over the tables of the kind they are given
 * (docs/adr/0017): one implementation of the ordering, import and visibility rules, tested
 * through both kinds, and SQL that names the real tables. Reads alias them `works` and `parts`.
 */
export const CATALOG_TABLES = {
  course: { works: 'courses', parts: 'lessons', workId: 'course_id' } as const satisfies KindTables<'lessons'>,
  ebook: { works: 'ebooks', parts: 'chapters', workId: 'ebook_id' } as const satisfies KindTables<'chapters'>,
}
type CatalogTables = (typeof CATALOG_TABLES)[ContentKind]

export type WorkRow = {
  id: number
  slug: string
  title: string
  description: string
  published: number
  created_by: number | null
  created_at: number
  updated_at: number
}
export type WorkWithCount = WorkRow & { part_count: number }
export interface PartSummary {
  id: number
  position: number
  source_key: string | null
  title: string
}
export interface PartRow extends PartSummary {
  body_markdown: string
  created_at: number
  updated_at: number
}

const WORK_COLUMNS = [
  'works.id',
  'works.slug',
  'works.title',
  'works.description',
  'works.published',
  'works.created_by',
  'works.created_at',
  'works.updated_at',
] as const
const PART_SUMMARY_COLUMNS = ['parts.id', 'parts.position', 'parts.source_key', 'parts.title'] as const
const PART_COLUMNS = [...PART_SUMMARY_COLUMNS, 'parts.body_markdown', 'parts.created_at', 'parts.updated_at'] as const

/** A part as the catalog writes it; `work_id` is stored in the kind's own column (course_id, ebook_id). */
export type NewPartRow = Insertable<PartColumns> & { work_id: number }

/** Queries over one kind's works and parts. Pass a transaction to run them inside it. */
export function createCatalogRepository(db: Kysely<Database>, kind: ContentKind) {
  const tables: CatalogTables = CATALOG_TABLES[kind]
  // Reads name the kind's tables under the aliases `works` and `parts`, typed by the columns the
  // two kinds share, so a query cannot use a column only one of them has.
  const works = sql<WorksTable>`${sql.table(tables.works)}`.as('works')
  const parts = sql<PartColumns>`${sql.table(tables.parts)}`.as('parts')
  /** The parts' column naming their work: the one identifier the two kinds spell differently. */
  const partWorkId = sql.ref<number>(`parts.${tables.workId}`)

  /** The number of parts of the work in the row, as a correlated subquery. */
  const partCountOf = (eb: ExpressionBuilder<{ works: WorksTable }, 'works'>) =>
    eb
      .selectFrom(parts)
      .select((inner) => inner.fn.countAll<number>().as('n'))
      .where(partWorkId, '=', eb.ref('works.id'))
      .as('part_count')

  return {
    kind,

    async listWorks(opts: { includeDrafts: boolean }): Promise<WorkWithCount[]> {
      const rows = await db
        .selectFrom(works)
        .select((eb) => [...WORK_COLUMNS, partCountOf(eb)])
        .$if(!opts.includeDrafts, (q) => q.where('works.published', '=', 1))
        .orderBy('works.title')
        .orderBy('works.id')
        .execute()
      return rows.map((row) => ({ ...row, part_count: Number(row.part_count) }))
    },

    async findWorkBySlug(slug: string): Promise<WorkWithCount | undefined> {
      const row = await db
        .selectFrom(works)
        .select((eb) => [...WORK_COLUMNS, partCountOf(eb)])
        .where('works.slug', '=', slug)
        .executeTakeFirst()
      return row && { ...row, part_count: Number(row.part_count) }
    },

    async findWorksByIds(ids: number[]): Promise<WorkWithCount[]> {
      if (ids.length === 0) return []
      const rows = await db
        .selectFrom(works)
        .select((eb) => [...WORK_COLUMNS, partCountOf(eb)])
        .where('works.id', 'in', ids)
        .orderBy('works.title')
        .orderBy('works.id')
        .execute()
      return rows.map((row) => ({ ...row, part_count: Number(row.part_count) }))
    },

    async slugTaken(slug: string): Promise<boolean> {
      return (
        (await db.selectFrom(works).select('works.id').where('works.slug', '=', slug).executeTakeFirst()) !== undefined
      )
    },

    async insertWork(values: Insertable<WorksTable>): Promise<number> {
      const row = await db.insertInto(tables.works).values(values).returning('id').executeTakeFirstOrThrow()
      return row.id
    },

    async updateWork(id: number, patch: Updateable<WorksTable>): Promise<void> {
      await db.updateTable(tables.works).set(patch).where('id', '=', id).execute()
    },

    async deleteWork(id: number): Promise<void> {
      await db.deleteFrom(tables.works).where('id', '=', id).execute()
    },

    /** The parts in reading order: position, then id (positions may tie after concurrent appends). */
    listParts(workId: number): Promise<PartSummary[]> {
      return db
        .selectFrom(parts)
        .select(PART_SUMMARY_COLUMNS)
        .where(partWorkId, '=', workId)
        .orderBy('parts.position')
        .orderBy('parts.id')
        .execute()
    },

    /** The parts in reading order, with their Markdown (imports compare it). */
    listPartsWithBodies(workId: number): Promise<PartRow[]> {
      return db
        .selectFrom(parts)
        .select(PART_COLUMNS)
        .where(partWorkId, '=', workId)
        .orderBy('parts.position')
        .orderBy('parts.id')
        .execute()
    },

    /** The n-th part (1-based) in reading order. */
    findPartByRank(workId: number, n: number): Promise<PartRow | undefined> {
      return db
        .selectFrom(parts)
        .select(PART_COLUMNS)
        .where(partWorkId, '=', workId)
        .orderBy('parts.position')
        .orderBy('parts.id')
        .limit(1)
        .offset(n - 1)
        .executeTakeFirst()
    },

    async maxPosition(workId: number): Promise<number> {
      const row = await db
        .selectFrom(parts)
        .select((eb) => eb.fn.max('parts.position').as('max'))
        .where(partWorkId, '=', workId)
        .executeTakeFirst()
      return Number(row?.max ?? 0)
    },

    async insertPart(values: NewPartRow): Promise<number> {
      const { work_id: workId, ...columns } = values
      const row = await db
        .insertInto(tables.parts)
        .values({ ...columns, [tables.workId]: workId } as Insertable<Database[CatalogTables['parts']]>)
        .returning('id')
        .executeTakeFirstOrThrow()
      return row.id
    },

    async updatePart(id: number, patch: Updateable<PartColumns>): Promise<void> {
      await db.updateTable(tables.parts).set(patch).where('id', '=', id).execute()
    },

    async deletePart(id: number): Promise<void> {
      await db.deleteFrom(tables.parts).where('id', '=', id).execute()
    },

    /** Positions 1..N in the given order, writing only the rows whose position changes. */
    async renumber(rows: ReadonlyArray<Pick<PartSummary, 'id' | 'position'>>): Promise<void> {
      for (const [index, part] of rows.entries()) {
        if (part.position !== index + 1) {
          await db
            .updateTable(tables.parts)
            .set({ position: index + 1 })
            .where('id', '=', part.id)
            .execute()
        }
      }
    },
  }
}

export type CatalogRepository = ReturnType<typeof createCatalogRepository>
