import type { Kysely, Selectable } from 'kysely'
import type { Database, MediaTable } from '../../db/schema.ts'

export type MediaRow = Selectable<MediaTable>
export type ServedMedia = Pick<MediaRow, 'sha256' | 'content_type' | 'data'>

export function createMediaRepository(db: Kysely<Database>) {
  return {
    /**
     * Stores the image unless the same bytes are there already (the first copy, and who stored it,
     * stay): one statement, so two uploads of one image at once leave one row.
     */
    async store(row: MediaRow): Promise<void> {
      await db
        .insertInto('media')
        .values(row)
        .onConflict((conflict) => conflict.column('sha256').doNothing())
        .execute()
    },

    async findForServing(sha256: string): Promise<ServedMedia | undefined> {
      return db
        .selectFrom('media')
        .select(['sha256', 'content_type', 'data'])
        .where('sha256', '=', sha256)
        .executeTakeFirst()
    },
  }
}

export type MediaRepository = ReturnType<typeof createMediaRepository>
