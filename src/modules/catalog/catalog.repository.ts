import {
  OperationNodeTransformer,
  type ExpressionBuilder,
  type IdentifierNode,
  type Insertable,
  type Kysely,
  type KyselyPlugin,
  type Updateable,
} from 'kysely'
import type { Database, PartColumns, WorksTable } from '../../db/schema.ts'
import type { ContentKind } from './content-kind.ts'

/**
 * Courses with their lessons and ebooks with their chapters have the same shape: a "work"
 * with ordered "parts". The queries are written once, against the generic tables below, and a
 * plugin renames `works`, `parts` and `work_id` to the real tables of each kind as the SQL is
 * built. Two copies of the same queries would drift apart; this way the ordering, import and
 * visibility rules are one implementation, tested through both kinds.
 */
interface CatalogTables {
  works: WorksTable
  parts: PartColumns & { work_id: number }
}

const TABLE_NAMES: Record<ContentKind, Record<'works' | 'parts' | 'work_id', string>> = {
  course: { works: 'courses', parts: 'lessons', work_id: 'course_id' },
  ebook: { works: 'ebooks', parts: 'chapters', work_id: 'ebook_id' },
}

class RenameIdentifiers extends OperationNodeTransformer {
  private readonly names: Readonly<Record<string, string>>

  constructor(names: Readonly<Record<string, string>>) {
    super()
    this.names = names
  }
  protected override transformIdentifier(node: IdentifierNode): IdentifierNode {
    const renamed = Object.hasOwn(this.names, node.name) ? this.names[node.name] : undefined
    return renamed === undefined ? node : { ...node, name: renamed }
  }
}

function renamePlugin(kind: ContentKind): KyselyPlugin {
  const transformer = new RenameIdentifiers(TABLE_NAMES[kind])
  return {
    transformQuery: (args) => transformer.transformNode(args.node, args.queryId),
    transformResult: async (args) => args.result,
  }
}

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

/** The number of parts of the work in the row, as a correlated subquery. */
const partCountOf = (eb: ExpressionBuilder<CatalogTables, 'works'>) =>
  eb
    .selectFrom('parts')
    .select((inner) => inner.fn.countAll<number>().as('n'))
    .whereRef('parts.work_id', '=', 'works.id')
    .as('part_count')

/** Queries over one kind's works and parts. Pass a transaction to run them inside it. */
export function createCatalogRepository(database: Kysely<Database>, kind: ContentKind) {
  const db = database.withPlugin(renamePlugin(kind)) as unknown as Kysely<CatalogTables>
  return {
    kind,

    async listWorks(opts: { includeDrafts: boolean }): Promise<WorkWithCount[]> {
      const rows = await db
        .selectFrom('works')
        .select((eb) => [...WORK_COLUMNS, partCountOf(eb)])
        .$if(!opts.includeDrafts, (q) => q.where('works.published', '=', 1))
        .orderBy('works.title')
        .orderBy('works.id')
        .execute()
      return rows.map((row) => ({ ...row, part_count: Number(row.part_count) }))
    },

    async findWorkBySlug(slug: string): Promise<WorkWithCount | undefined> {
      const row = await db
        .selectFrom('works')
        .select((eb) => [...WORK_COLUMNS, partCountOf(eb)])
        .where('works.slug', '=', slug)
        .executeTakeFirst()
      return row && { ...row, part_count: Number(row.part_count) }
    },

    async findWorksByIds(ids: number[]): Promise<WorkWithCount[]> {
      if (ids.length === 0) return []
      const rows = await db
        .selectFrom('works')
        .select((eb) => [...WORK_COLUMNS, partCountOf(eb)])
        .where('works.id', 'in', ids)
        .orderBy('works.title')
        .orderBy('works.id')
        .execute()
      return rows.map((row) => ({ ...row, part_count: Number(row.part_count) }))
    },

    async slugTaken(slug: string): Promise<boolean> {
      return (
        (await db.selectFrom('works').select('works.id').where('works.slug', '=', slug).executeTakeFirst()) !==
        undefined
      )
    },

    async insertWork(values: Insertable<WorksTable>): Promise<number> {
      const row = await db.insertInto('works').values(values).returning('works.id').executeTakeFirstOrThrow()
      return row.id
    },

    async updateWork(id: number, patch: Updateable<WorksTable>): Promise<void> {
      await db.updateTable('works').set(patch).where('works.id', '=', id).execute()
    },

    async deleteWork(id: number): Promise<void> {
      await db.deleteFrom('works').where('works.id', '=', id).execute()
    },

    /** The parts in reading order: position, then id (positions may tie after concurrent appends). */
    listParts(workId: number): Promise<PartSummary[]> {
      return db
        .selectFrom('parts')
        .select(PART_SUMMARY_COLUMNS)
        .where('parts.work_id', '=', workId)
        .orderBy('parts.position')
        .orderBy('parts.id')
        .execute()
    },

    /** The parts in reading order, with their Markdown (imports compare it). */
    listPartsWithBodies(workId: number): Promise<PartRow[]> {
      return db
        .selectFrom('parts')
        .select(PART_COLUMNS)
        .where('parts.work_id', '=', workId)
        .orderBy('parts.position')
        .orderBy('parts.id')
        .execute()
    },

    /** The n-th part (1-based) in reading order. */
    findPartByRank(workId: number, n: number): Promise<PartRow | undefined> {
      return db
        .selectFrom('parts')
        .select(PART_COLUMNS)
        .where('parts.work_id', '=', workId)
        .orderBy('parts.position')
        .orderBy('parts.id')
        .limit(1)
        .offset(n - 1)
        .executeTakeFirst()
    },

    async maxPosition(workId: number): Promise<number> {
      const row = await db
        .selectFrom('parts')
        .select((eb) => eb.fn.max('parts.position').as('max'))
        .where('parts.work_id', '=', workId)
        .executeTakeFirst()
      return Number(row?.max ?? 0)
    },

    async insertPart(values: Insertable<CatalogTables['parts']>): Promise<number> {
      const row = await db.insertInto('parts').values(values).returning('parts.id').executeTakeFirstOrThrow()
      return row.id
    },

    async updatePart(id: number, patch: Updateable<CatalogTables['parts']>): Promise<void> {
      await db.updateTable('parts').set(patch).where('parts.id', '=', id).execute()
    },

    async deletePart(id: number): Promise<void> {
      await db.deleteFrom('parts').where('parts.id', '=', id).execute()
    },

    /** Positions 1..N in the given order, writing only the rows whose position changes. */
    async renumber(parts: ReadonlyArray<Pick<PartSummary, 'id' | 'position'>>): Promise<void> {
      for (const [index, part] of parts.entries()) {
        if (part.position !== index + 1) {
          await db
            .updateTable('parts')
            .set({ position: index + 1 })
            .where('parts.id', '=', part.id)
            .execute()
        }
      }
    },
  }
}

export type CatalogRepository = ReturnType<typeof createCatalogRepository>
